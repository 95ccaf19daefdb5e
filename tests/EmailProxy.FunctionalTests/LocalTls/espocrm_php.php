<?php
// EspoCRM's two ways to reach the proxy, with the PHP pieces EspoCRM uses, by 127.0.0.1 as EspoCRM connects.
// Usage: php espocrm_php.php WAY IMAP_PORT SMTP_PORT USER PASSWORD [CA_FILE]
// WAY seed: IMAP "SSL/TLS" as a verifying ssl:// stream (cafile = CA_FILE), SMTP "STARTTLS" with Symfony Mailer trusting CA_FILE.
// WAY none: security "None" on both with no CA anywhere: imap_open with no flags, Symfony Mailer with tls off (it
//           would still take STARTTLS if the proxy offered it, and then verify against the system's CAs).
// WAY imap_open: only imap_open with no flags (it takes STARTTLS whenever it is offered).
// Prints one line per step; exits non-zero on the first failure.
require_once '/usr/share/php/Symfony/Component/Mailer/autoload.php';
require_once '/usr/share/php/Symfony/Component/Mime/autoload.php';

use Symfony\Component\Mailer\Mailer;
use Symfony\Component\Mailer\Transport\Smtp\EsmtpTransport;
use Symfony\Component\Mime\Email;

[$script, $way, $imapPort, $smtpPort, $user, $password] = array_slice($argv, 0, 6);
$ca = $argv[6] ?? null;

function fail(string $step, string $why): never
{
    fwrite(STDERR, "$step failed: $why\n");
    exit(1);
}

/** One IMAP command over a stream; the tagged answer, or a failure. */
function imap_command($stream, string $tag, string $command): string
{
    fwrite($stream, "$tag $command\r\n");
    while (($line = fgets($stream)) !== false) {
        if (str_starts_with($line, "$tag ")) {
            return rtrim($line);
        }
    }
    fail("IMAP $command", 'the connection closed');
}

if ($way === 'imap_open') {
    $mailbox = @imap_open("{127.0.0.1:$imapPort}INBOX", $user, $password, 0, 0);
    if ($mailbox === false) {
        fail('imap_open', implode('; ', imap_errors() ?: []));
    }
    echo "imap_open: OK\n";
    exit(0);
}

if ($way === 'seed') {
    $context = stream_context_create(['ssl' => ['verify_peer' => true, 'verify_peer_name' => true, 'cafile' => $ca]]);
    $stream = stream_socket_client("ssl://127.0.0.1:$imapPort", $errno, $error, 10, STREAM_CLIENT_CONNECT, $context);
    if ($stream === false) {
        fail('IMAP SSL/TLS connect', "$errno $error");
    }
    stream_set_timeout($stream, 20);
    $greeting = fgets($stream);
    if (!str_starts_with((string) $greeting, '* OK')) {
        fail('IMAP greeting', (string) $greeting);
    }
    $login = imap_command($stream, 'A1', sprintf('LOGIN "%s" "%s"', $user, $password));
    if (!str_starts_with($login, 'A1 OK')) {
        fail('IMAP LOGIN', $login);
    }
    $select = imap_command($stream, 'A2', 'SELECT INBOX');
    echo "imap ssl/tls: ", str_starts_with($select, 'A2 OK') ? 'OK' : $select, "\n";
    imap_command($stream, 'A3', 'LOGOUT');
    fclose($stream);

    $transport = new EsmtpTransport('127.0.0.1', (int) $smtpPort, false);
    $transport->getStream()->setStreamOptions(['ssl' => ['verify_peer' => true, 'verify_peer_name' => true, 'cafile' => $ca]]);
} else {
    $mailbox = @imap_open("{127.0.0.1:$imapPort}INBOX", $user, $password, 0, 0);
    if ($mailbox === false) {
        fail('imap_open', implode('; ', imap_errors() ?: []));
    }
    echo "imap none: OK ", imap_num_msg($mailbox), "\n";
    imap_close($mailbox);

    $transport = new EsmtpTransport('127.0.0.1', (int) $smtpPort, false);
}

$transport->setUsername($user);
$transport->setPassword($password);
$email = (new Email())->from($user)->to('lead@example.org')->subject("EspoCRM $way way")->text("PHP-SYMFONY-$way-MARKER");
try {
    (new Mailer($transport))->send($email);
} catch (Throwable $e) {
    fail('Symfony Mailer send', $e->getMessage());
}
echo "smtp $way: sent\n";
