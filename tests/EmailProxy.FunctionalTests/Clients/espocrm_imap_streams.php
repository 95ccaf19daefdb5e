<?php
// EspoCRM's IMAP reading (directorytree/imapengine, 9.3+) as PHP streams do it, with TLS verified against a CA file:
// php espocrm_imap_streams.php ssl|starttls|plain HOST PORT USER PASSWORD CAFILE FOLDER
// Prints the sha256 of every message of FOLDER (UID FETCH BODY.PEEK[]), one a line, then "messages: N".
[, $mode, $host, $port, $user, $password, $cafile, $folder] = $argv;
$context = stream_context_create(['ssl' => ['verify_peer' => true, 'verify_peer_name' => true, 'cafile' => $cafile]]);
$scheme = $mode === 'ssl' ? 'ssl' : 'tcp';
$stream = stream_socket_client("$scheme://$host:$port", $errno, $error, 20, STREAM_CLIENT_CONNECT, $context);
if ($stream === false) {
    fwrite(STDERR, "connect failed: $error\n");
    exit(2);
}
stream_set_timeout($stream, 20);

function line($stream): string
{
    $line = fgets($stream);
    if ($line === false) {
        fwrite(STDERR, "connection closed\n");
        exit(3);
    }
    return $line;
}

/** Sends a command and reads up to its tagged answer; literals are read whole and returned in order. */
function command($stream, string $tag, string $command, array &$literals = []): string
{
    fwrite($stream, "$tag $command\r\n");
    while (true) {
        $line = line($stream);
        if (preg_match('/\{(\d+)\}\r\n$/', $line, $m)) {
            $data = '';
            while (strlen($data) < (int) $m[1]) {
                $chunk = fread($stream, (int) $m[1] - strlen($data));
                if ($chunk === false || $chunk === '') {
                    fwrite(STDERR, "connection closed in a literal\n");
                    exit(3);
                }
                $data .= $chunk;
            }
            $literals[] = $data;
            continue;
        }
        if (str_starts_with($line, "$tag ")) {
            if (!str_starts_with($line, "$tag OK")) {
                fwrite(STDERR, "$command: $line");
                exit(4);
            }
            return $line;
        }
    }
}

$greeting = line($stream);
if (!str_starts_with($greeting, '* OK')) {
    fwrite(STDERR, "greeting: $greeting");
    exit(3);
}
if ($mode === 'starttls') {
    command($stream, 'TAG0', 'STARTTLS');
    if (!stream_socket_enable_crypto($stream, true, STREAM_CRYPTO_METHOD_TLS_CLIENT)) {
        fwrite(STDERR, "STARTTLS handshake failed\n");
        exit(5);
    }
}
command($stream, 'TAG1', sprintf('LOGIN "%s" "%s"', addcslashes($user, '"\\'), addcslashes($password, '"\\')));
command($stream, 'TAG2', 'LIST "" "*"');
command($stream, 'TAG3', sprintf('SELECT "%s"', $folder));
fwrite($stream, "TAG4 UID SEARCH ALL\r\n");
$uids = [];
while (!str_starts_with($line = line($stream), 'TAG4 ')) {
    if (str_starts_with($line, '* SEARCH')) {
        $uids = array_filter(explode(' ', trim(substr($line, 8))));
    }
}
$count = 0;
foreach ($uids as $i => $uid) {
    $literals = [];
    command($stream, 'TAG' . (5 + $i), "UID FETCH $uid (BODY.PEEK[])", $literals);
    foreach ($literals as $literal) {
        echo hash('sha256', $literal), "\n";
        $count++;
    }
}
command($stream, 'TAG99', 'LOGOUT');
echo "messages: $count\n";
