namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// Who Dovecot's processes run as: its internal processes (auth, anvil, ...), its login processes, and the mail
/// processes (the static userdb's uid and gid); <see cref="Chroot"/> is the <c>chroot =</c> line a non-root
/// Dovecot needs in the services that chroot by default, empty as root.
/// </summary>
internal sealed record DovecotUsers(string InternalUser, string InternalGroup, string LoginUser, int MailUid, int MailGid, string Chroot);
