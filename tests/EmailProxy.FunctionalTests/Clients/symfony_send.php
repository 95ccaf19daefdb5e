<?php
// EspoCRM's sending (Symfony Mailer's EsmtpTransport, Debian's php-symfony-mailer) of one message file as it is:
// php symfony_send.php HOST PORT implicit|auto USER PASSWORD CAFILE|none FILE
// "implicit" is EspoCRM's security "SSL/TLS" (smtps://); "auto" is "None" and "STARTTLS", for which Symfony upgrades
// whenever EHLO offers STARTTLS. CAFILE "none" leaves the system's trust store alone.
require_once '/usr/share/php/Symfony/Component/Mailer/autoload.php';

use Symfony\Component\Mailer\Envelope;
use Symfony\Component\Mailer\Transport\Smtp\EsmtpTransport;
use Symfony\Component\Mime\Address;
use Symfony\Component\Mime\RawMessage;

[, $host, $port, $security, $user, $password, $cafile, $file] = $argv;
$transport = new EsmtpTransport($host, (int) $port, $security === 'implicit');
$transport->setUsername($user);
$transport->setPassword($password);
$options = ['verify_peer' => true, 'verify_peer_name' => true];
if ($cafile !== 'none') {
    $options['cafile'] = $cafile;
}
$transport->getStream()->setStreamOptions(['ssl' => $options]);
try {
    $sent = $transport->send(new RawMessage(file_get_contents($file)), new Envelope(new Address($user), [new Address('customer@example.org')]));
    echo "sent\n";
} catch (\Throwable $e) {
    fwrite(STDERR, get_class($e) . ': ' . $e->getMessage() . "\n");
    exit(2);
}
