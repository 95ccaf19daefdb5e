#!/usr/bin/env bash
# Checks a running Email OAuth2 Proxy end to end, as EspoCRM would use it:
#   1. reads the configuration (the listeners and the account),
#   2. logs in over IMAP; when the account needs a sign-in, prints what the proxy says to open
#      (a sign-in URL or a device code) and waits, with a progress line, until the sign-in is done,
#   3. checks IMAP LOGIN + LIST, SMTP EHLO + AUTH, and POP3 USER/PASS + STAT when POP3 is listened.
# Exits 0 when every step passed, else non-zero with the step that failed:
#   2 configuration, 3 IMAP connection, 4 sign-in, 5 IMAP, 6 SMTP, 7 POP3.
#
#   ./test-oauth2-flow.sh [--config FILE] [--container NAME] [--account NAME] [--password PASSWORD]
#                         [--host HOST] [--timeout SECONDS]
# --container NAME reads the configuration inside that container (docker exec) and connects to its
#   published ports on --host (default 127.0.0.1); its log's last lines are shown when a step fails.
# The password is what the mail client types (the account's password_hash's password, or anything):
# give it in $EMAILPROXY_TEST_PASSWORD (--password puts it where `ps` shows it to every local user).
# Plaintext on the proxy's ports: run it where the proxy is.
set -uo pipefail

config="" container="" account="" password="${EMAILPROXY_TEST_PASSWORD:-any-password}" host="127.0.0.1" timeout=600
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config="$2"; shift 2 ;;
    --container) container="$2"; shift 2 ;;
    --account) account="$2"; shift 2 ;;
    --password) password="$2"; shift 2 ;;
    --host) host="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test-oauth2-flow: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

[[ "$timeout" =~ ^[0-9]+$ ]] || { echo "test-oauth2-flow: --timeout takes whole seconds, not '$timeout'" >&2; exit 2; }
# A connection the proxy closed must end in a FAILED line, not in a silent death by SIGPIPE.
trap '' PIPE

fail() { # STEP-CODE MESSAGE
  echo "FAILED: $2" >&2
  if [ -n "$container" ]; then
    echo "--- the last lines of $container's log:" >&2
    docker logs --tail 15 "$container" 2>&1 | sed 's/^/  /' >&2
  fi
  exit "$1"
}
ok() { echo "ok: $1"; }

# 1. The configuration: from the container, or --config, $EMAILPROXY_CONFIG, ./emailproxy.config.
if [ -n "$container" ]; then
  text=$(docker exec "$container" sh -c 'cat "${EMAILPROXY_CONFIG:-/config/emailproxy.config}"' 2>&1) \
    || fail 2 "cannot read the configuration in container $container: $text"
else
  config=${config:-${EMAILPROXY_CONFIG:-emailproxy.config}}
  [ -r "$config" ] || fail 2 "cannot read the configuration $config (--config FILE)"
  text=$(cat "$config")
fi
# The value of KEY in [general] (keys are case-insensitive; ';' and '#' start comments).
general() {
  printf '%s\n' "$text" | awk -v key="$1" '
    /^[ \t]*[;#]/ { next }
    /^[ \t]*\[/ { section = tolower($0); gsub(/[ \t\[\]]/, "", section); next }
    section == "general" {
      line = $0; sub(/[ \t]*[;#].*$/, "", line)
      split(line, kv, "="); k = tolower(kv[1]); gsub(/[ \t]/, "", k)
      if (k == key) { v = substr(line, index(line, "=") + 1); gsub(/^[ \t]+|[ \t]+$/, "", v); print v; exit }
    }'
}
# A listen value (host:port, [v6]:port): "host port", the host being --host when it listens on every
# address (or on loopback), else its own; empty when the protocol is off (a key present but empty), and
# the default when the key is absent.
listener() { # KEY DEFAULT-PORT
  local value
  if ! printf '%s\n' "$text" | grep -qiE "^[[:space:]]*$1[[:space:]]*="; then
    echo "$host $2"; return
  fi
  value=$(general "$1")
  [ -z "$value" ] && return
  local address=${value%:*} port=${value##*:}
  address=${address#[}; address=${address%]}
  case "$address" in
    ""|"*"|0.0.0.0|::|localhost|127.*|::1) echo "$host $port" ;;
    *) echo "$address $port" ;;
  esac
}
read -r imap_host imap_port <<<"$(listener imap_listen 1993)"
read -r smtp_host smtp_port <<<"$(listener smtp_listen 1587)"
read -r pop_host pop_port <<<"$(listener pop_listen "")"
[ -n "$imap_port" ] || fail 2 "imap_listen is empty: the proxy serves no IMAP, which this script needs"
if [ -z "$account" ]; then
  account=$(printf '%s\n' "$text" | sed -n 's/^[ \t]*\[[ \t]*[Aa][Cc][Cc][Oo][Uu][Nn][Tt][ \t]\+\(.*[^ \t]\)[ \t]*\][ \t]*$/\1/p' | head -n 1)
fi
[ -n "$account" ] || fail 2 "the configuration has no [account NAME] section (or name one with --account)"
ok "configuration: account $account; IMAP $imap_host:$imap_port${smtp_port:+, SMTP $smtp_host:$smtp_port}${pop_port:+, POP3 $pop_host:$pop_port}"

# A session on HOST PORT over bash's /dev/tcp, on file descriptor 3; each answer read with a time limit.
open() { exec 3<>"/dev/tcp/$1/$2" 2>/dev/null; }
close() { exec 3>&- 3<&- 2>/dev/null; true; }
say() { printf '%s\r\n' "$1" >&3 2>/dev/null; }
# Reads lines until one matches the pattern; prints the lines read; fails after 30 s without one.
until_line() {
  local line
  while IFS= read -r -t 30 line <&3; do
    line=${line%$'\r'}
    printf '%s\n' "$line"
    [[ "$line" =~ $1 ]] && return 0
  done
  return 1
}
quote() { local v=${1//\\/\\\\}; printf '"%s"' "${v//\"/\\\"}"; }

# IMAP LOGIN; prints the tagged answer.
imap_login() {
  open "$imap_host" "$imap_port" || return 3
  until_line '^\* (OK|PREAUTH|BYE)' >/dev/null || { close; return 3; }
  say "a1 LOGIN $(quote "$account") $(quote "$password")"
  until_line '^a1 ' | tail -n 1
  close
}

# 2. The sign-in.
answer=$(imap_login) || fail 3 "no IMAP greeting from $imap_host:$imap_port: is the proxy running and listening there?"
if [[ "$answer" != "a1 OK"* ]]; then
  case "$answer" in
    *"needs an OAuth2 sign-in"*) ;;
    *) fail 4 "IMAP login refused, and not for a sign-in: ${answer#a1 }" ;;
  esac
  url=$(printf '%s' "$answer" | grep -Eo 'https?://[^ )"]+' | head -n 1)
  code=$(printf '%s' "$answer" | sed -n 's/.* and enter \([A-Za-z0-9-]\+\).*/\1/p')
  echo "The account needs a sign-in. The proxy says:"
  echo "  ${answer#a1 NO }"
  if [ -n "$code" ]; then echo "Open $url and enter $code"; else echo "Open $url"; fi
  start=$SECONDS
  while :; do
    elapsed=$((SECONDS - start))
    [ "$elapsed" -ge "$timeout" ] && { echo; fail 4 "not signed in after $timeout s"; }
    printf '\rwaiting for the sign-in… %d:%02d ' $((elapsed / 60)) $((elapsed % 60))
    sleep 3
    answer=$(imap_login) || { echo; fail 3 "the IMAP listener stopped answering while waiting"; }
    [[ "$answer" == "a1 OK"* ]] && break
  done
  echo
fi
ok "signed in: IMAP LOGIN accepted"

# 3. IMAP LOGIN + LIST.
open "$imap_host" "$imap_port" || fail 5 "cannot connect to IMAP $imap_host:$imap_port"
until_line '^\* OK' >/dev/null || fail 5 "no IMAP greeting"
say "a1 LOGIN $(quote "$account") $(quote "$password")"
login=$(until_line '^a1 ' | tail -n 1)
[[ "$login" == "a1 OK"* ]] || fail 5 "IMAP LOGIN: $login"
say 'a2 LIST "" "*"'
list=$(until_line '^a2 ') || fail 5 "IMAP LIST: no answer"
[[ "$(printf '%s' "$list" | tail -n 1)" == "a2 OK"* ]] || fail 5 "IMAP LIST: $(printf '%s' "$list" | tail -n 1)"
folders=$(printf '%s\n' "$list" | grep -c '^\* LIST')
say "a3 LOGOUT"; until_line '^a3 ' >/dev/null; close
ok "IMAP LOGIN + LIST ($folders folders)"

# SMTP EHLO + AUTH PLAIN, when listened.
if [ -n "$smtp_port" ]; then
open "$smtp_host" "$smtp_port" || fail 6 "cannot connect to SMTP $smtp_host:$smtp_port"
until_line '^220 ' >/dev/null || fail 6 "no SMTP greeting"
say "EHLO test-oauth2-flow"
ehlo=$(until_line '^250 ') || fail 6 "EHLO: no answer"
printf '%s\n' "$ehlo" | grep -qi '^250[- ]AUTH' || fail 6 "EHLO offers no AUTH: $(printf '%s' "$ehlo" | tr '\n' ' ')"
say "AUTH PLAIN $(printf '\0%s\0%s' "$account" "$password" | base64 -w0)"
auth=$(until_line '^[0-9]{3} ' | tail -n 1)
[[ "$auth" == 235* ]] || fail 6 "SMTP AUTH: $auth"
say "QUIT"; until_line '^221' >/dev/null; close
ok "SMTP EHLO + AUTH"
fi

# POP3 USER/PASS + STAT, when listened.
if [ -n "$pop_port" ]; then
  open "$pop_host" "$pop_port" || fail 7 "cannot connect to POP3 $pop_host:$pop_port"
  until_line '^\+OK' >/dev/null || fail 7 "no POP3 greeting"
  say "USER $account"; until_line '^[+-]' >/dev/null
  say "PASS $password"
  pass=$(until_line '^[+-]' | tail -n 1)
  [[ "$pass" == +OK* ]] || fail 7 "POP3 PASS: $pass"
  say "STAT"; stat=$(until_line '^[+-]' | tail -n 1)
  [[ "$stat" == +OK* ]] || fail 7 "POP3 STAT: $stat"
  say "QUIT"; until_line '^[+-]' >/dev/null; close
  ok "POP3 USER/PASS + STAT (${stat#+OK })"
fi
echo "All steps passed."
