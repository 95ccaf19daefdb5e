<?php
// PHP's imap extension (c-client): php php_imap_open.php MAILBOX USER PASSWORD prints the sha256 of every message
// of MAILBOX ({host:port/imap/ssl}FOLDER ...), one a line, then "messages: N". c-client verifies certificates with
// OpenSSL's default paths, which SSL_CERT_FILE points at the proxy's CA.
[, $mailbox, $user, $password] = $argv;
$stream = @imap_open($mailbox, $user, $password, OP_READONLY, 0);
if ($stream === false) {
    fwrite(STDERR, "imap_open failed: " . implode(' | ', imap_errors() ?: []) . "\n");
    exit(2);
}
$count = imap_num_msg($stream);
for ($i = 1; $i <= $count; $i++) {
    echo hash('sha256', imap_fetchbody($stream, $i, '', FT_PEEK)), "\n";
}
imap_close($stream);
echo "messages: $count\n";
