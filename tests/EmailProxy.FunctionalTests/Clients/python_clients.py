"""Python's standard mail clients through the proxy: the same calls a Python script or tool makes.

Usage: python_clients.py MODE IMAP_PORT SMTP_PORT POP_PORT USER PASSWORD CA_FILE
MODE auto: plaintext and implicit TLS on the same ports (local_tls = auto);
MODE starttls: STARTTLS/STLS, and plaintext without it (local_tls = starttls).
Prints one line per step; exits non-zero on the first failure.
"""
import imaplib
import poplib
import smtplib
import ssl
import sys

mode = sys.argv[1]
imap_port, smtp_port, pop_port = (int(p) for p in sys.argv[2:5])
user, password, ca_file = sys.argv[5:8]
context = ssl.create_default_context(cafile=ca_file)

if mode == "auto":
    with imaplib.IMAP4("127.0.0.1", imap_port) as imap:
        imap.login(user, password)
        typ, data = imap.select("INBOX")
        typ, data = imap.fetch("1", "(RFC822)")
        print("imap plain:", typ, len(data[0][1]))
        imap.logout()

    with imaplib.IMAP4_SSL("127.0.0.1", imap_port, ssl_context=context) as imap:
        imap.login(user, password)
        imap.select("INBOX", readonly=True)
        typ, data = imap.fetch("1", "(BODY.PEEK[])")
        print("imap ssl:", typ, len(data[0][1]))
        imap.logout()

    with smtplib.SMTP_SSL("127.0.0.1", smtp_port, context=context) as smtp:
        smtp.login(user, password)
        refused = smtp.sendmail(user, ["customer@example.org"], b"Subject: from smtplib\r\n\r\nPYTHON-SMTP-MARKER\r\n")
        print("smtp ssl:", "sent" if not refused else refused)

    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        smtp.login(user, password)
        smtp.sendmail(user, ["customer@example.org"], b"Subject: second\r\n\r\nsecond\r\n")
        print("smtp plain: sent")

    pop = poplib.POP3_SSL("127.0.0.1", pop_port, context=context)
    pop.user(user)
    pop.pass_(password)
    count, size = pop.stat()
    response, lines, octets = pop.retr(1)
    print("pop ssl:", count, octets)
    pop.quit()
else:
    with imaplib.IMAP4("127.0.0.1", imap_port) as imap:
        imap.starttls(ssl_context=context)
        imap.login(user, password)
        print("imap starttls:", imap.select("INBOX")[0])
        imap.logout()

    with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
        smtp.starttls(context=context)
        smtp.login(user, password)
        refused = smtp.sendmail(user, ["customer@example.org"], b"Subject: from smtplib\r\n\r\nPYTHON-SMTP-MARKER\r\n")
        print("smtp starttls:", "sent" if not refused else refused)

    pop = poplib.POP3("127.0.0.1", pop_port)
    pop.stls(context=context)
    pop.user(user)
    pop.pass_(password)
    print("pop stls:", pop.stat()[0])
    pop.quit()
