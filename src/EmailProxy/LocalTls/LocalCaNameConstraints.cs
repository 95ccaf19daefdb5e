using System.Formats.Asn1;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace EmailProxy.LocalTls;

/// <summary>
/// The X.509 name constraints (RFC 5280 §4.2.1.10) of the generated local CA: the names and
/// addresses a certificate it signs may carry. A mail client that trusts the CA then trusts it for
/// the local machine and private networks only, so that whoever takes its key (ca.key) cannot pass
/// for another site to that client. Permitted: DNS <c>localhost</c> (and so every name under it),
/// 127.0.0.0/8, ::1, the private ranges (10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10), and the
/// names known when the CA is made (the host name, <c>local_tls_names</c>); a DNS name permits the
/// names under it as well. Each IPv4 address among those names (127.0.0.1 always) is permitted as a
/// DNS name too, so that the server certificate may carry its <see cref="DnsTwinOf">DNS twin</see>.
/// .NET has no builder for the extension: its DER is written and read with
/// <see cref="AsnWriter"/> and <see cref="AsnReader"/>, permitted subtrees only.
/// </summary>
internal sealed class LocalCaNameConstraints
{
    public const string Oid = "2.5.29.30";

    /// <summary>GeneralName's context tags (implicit): dNSName [2] IA5String, iPAddress [7] OCTET STRING.</summary>
    private static readonly Asn1Tag DnsNameTag = new(TagClass.ContextSpecific, 2);
    private static readonly Asn1Tag IpAddressTag = new(TagClass.ContextSpecific, 7);
    private static readonly Asn1Tag PermittedSubtreesTag = new(TagClass.ContextSpecific, 0, isConstructed: true);

    private static readonly (string Network, int PrefixLength)[] PrivateRanges =
    [
        ("127.0.0.0", 8), ("::1", 128), ("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16), ("fc00::", 7), ("fe80::", 10),
    ];

    private readonly List<string> _dnsNames = [];
    private readonly List<(byte[] Network, byte[] Mask)> _ipRanges = [];

    private LocalCaNameConstraints()
    {
    }

    /// <summary>The permitted DNS names, lower case, in the order they were added.</summary>
    public IReadOnlyList<string> DnsNames => _dnsNames;

    /// <summary>For the log: every permitted name and range, e.g. <c>localhost, 127.0.0.0/8, ::1/128</c>.</summary>
    public override string ToString() =>
        string.Join(", ", _dnsNames.Concat(_ipRanges.Select(r => $"{new IPAddress(r.Network)}/{PrefixLength(r.Mask)}")));

    /// <summary>
    /// The DNS name equal to an IPv4 address (<c>127.0.0.1</c> for <c>127.0.0.1</c>), which the server
    /// certificate carries beside the address's IP entry; null for every other name. Several clients
    /// (mbsync, fetchmail, PHP's c-client with <c>/ssl</c>, s-nail, offlineimap) compare the host they
    /// connected to only with the certificate's DNS names and its common name, never with its IP
    /// entries, so a certificate naming 127.0.0.1 only as an address fails them by 127.0.0.1 and passes
    /// them by localhost. An IPv6 address has no twin: its colons make no DNS name (use localhost).
    /// </summary>
    public static string? DnsTwinOf(string name) =>
        IPAddress.TryParse(name, out var address) && address.AddressFamily == AddressFamily.InterNetwork
            && address.ToString() == name ? name : null;

    /// <summary>The constraints of a new CA: localhost, loopback, the private ranges, <paramref name="names"/>, and the DNS twin of each IPv4 one.</summary>
    public static LocalCaNameConstraints For(IEnumerable<string> names)
    {
        var constraints = new LocalCaNameConstraints();
        constraints.AddDnsName("localhost");
        foreach (var (network, prefixLength) in PrivateRanges)
        {
            var address = IPAddress.Parse(network);
            constraints.AddIpRange(address.GetAddressBytes(), Mask(address.AddressFamily, prefixLength));
        }
        foreach (var name in names)
        {
            if (DnsTwinOf(name) is { } twin && !constraints.PermitsDnsName(twin))
            {
                constraints.AddDnsName(twin);
            }
            if (constraints.Permits(name))
            {
                continue;
            }
            if (IPAddress.TryParse(name, out var address))
            {
                constraints.AddIpRange(address.GetAddressBytes(), Mask(address.AddressFamily, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128));
            }
            else if (DnsConstraintFor(name) is { } dnsName)
            {
                constraints.AddDnsName(dnsName);
            }
        }
        return constraints;
    }

    /// <summary>The CA's constraints, or null when it has none (a CA of a version before them) or they cannot be read.</summary>
    public static LocalCaNameConstraints? Of(X509Certificate2 ca)
    {
        if (ca.Extensions[Oid] is not { } extension)
        {
            return null;
        }
        try
        {
            return Decode(extension.RawData);
        }
        catch (AsnContentException)
        {
            return null;
        }
    }

    /// <summary>The extension, critical, as RFC 5280 asks of name constraints.</summary>
    public X509Extension ToExtension()
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(PermittedSubtreesTag))
            {
                foreach (var name in _dnsNames)
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteCharacterString(UniversalTagNumber.IA5String, name, DnsNameTag);
                    }
                }
                foreach (var (network, mask) in _ipRanges)
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteOctetString([.. network, .. mask], IpAddressTag);
                    }
                }
            }
        }
        return new X509Extension(Oid, writer.Encode(), critical: true);
    }

    /// <summary>
    /// Whether a certificate the CA signs may carry <paramref name="name"/> (a DNS name, a wildcard
    /// name or an IP address), as a verifying client judges it.
    /// </summary>
    public bool Permits(string name)
    {
        if (IPAddress.TryParse(name, out var address))
        {
            var bytes = address.GetAddressBytes();
            return _ipRanges.Any(range => range.Network.Length == bytes.Length
                && Enumerable.Range(0, bytes.Length).All(i => (bytes[i] & range.Mask[i]) == (range.Network[i] & range.Mask[i])));
        }
        return PermitsDnsName(name);
    }

    /// <summary>Whether a certificate the CA signs may carry <paramref name="name"/> as a DNS name, even when it reads as an IP address (a <see cref="DnsTwinOf">DNS twin</see>).</summary>
    public bool PermitsDnsName(string name)
    {
        var ascii = Ascii(name);
        return ascii is not null && _dnsNames.Any(constraint => constraint.Length == 0 || ascii.Equals(constraint, StringComparison.Ordinal)
            || ascii.EndsWith(constraint.StartsWith('.') ? constraint : "." + constraint, StringComparison.Ordinal));
    }

    private static LocalCaNameConstraints Decode(byte[] der)
    {
        var constraints = new LocalCaNameConstraints();
        var sequence = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        if (!sequence.HasData || !sequence.PeekTag().HasSameClassAndValue(PermittedSubtreesTag))
        {
            // Excluded subtrees only: every name not excluded is permitted; the proxy makes none such.
            constraints.AddDnsName("");
            constraints.AddIpRange(new byte[4], new byte[4]);
            constraints.AddIpRange(new byte[16], new byte[16]);
            return constraints;
        }
        var subtrees = sequence.ReadSequence(PermittedSubtreesTag);
        while (subtrees.HasData)
        {
            var subtree = subtrees.ReadSequence();
            var tag = subtree.PeekTag();
            if (tag.HasSameClassAndValue(DnsNameTag))
            {
                constraints.AddDnsName(subtree.ReadCharacterString(UniversalTagNumber.IA5String, DnsNameTag).ToLowerInvariant());
            }
            else if (tag.HasSameClassAndValue(IpAddressTag))
            {
                var value = subtree.ReadOctetString(IpAddressTag);
                if (value.Length is 8 or 32)
                {
                    constraints.AddIpRange(value[..(value.Length / 2)], value[(value.Length / 2)..]);
                }
            }
            // Other kinds of names (directory names, e-mail addresses) do not constrain these two.
        }
        return constraints;
    }

    /// <summary>The DNS constraint for a certificate name: a wildcard <c>*.lan</c> becomes <c>lan</c>; null when it is no DNS name.</summary>
    private static string? DnsConstraintFor(string name)
    {
        var ascii = Ascii(name.StartsWith("*.", StringComparison.Ordinal) ? name[2..] : name);
        return ascii is { Length: > 0 } && !ascii.Contains('*', StringComparison.Ordinal) ? ascii : null;
    }

    /// <summary>The name as a certificate carries it (IDNA, lower case, no final dot), or null when it is none.</summary>
    private static string? Ascii(string name)
    {
        try
        {
            return new IdnMapping().GetAscii(name.TrimEnd('.')).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static byte[] Mask(AddressFamily family, int prefixLength)
    {
        var mask = new byte[family == AddressFamily.InterNetwork ? 4 : 16];
        for (var i = 0; i < mask.Length; i++)
        {
            var bits = Math.Clamp(prefixLength - (8 * i), 0, 8);
            mask[i] = (byte)(0xFF << (8 - bits));
        }
        return mask;
    }

    private static int PrefixLength(byte[] mask) => mask.Sum(b => System.Numerics.BitOperations.PopCount(b));

    private void AddDnsName(string name)
    {
        if (!_dnsNames.Contains(name, StringComparer.Ordinal))
        {
            _dnsNames.Add(name);
        }
    }

    private void AddIpRange(byte[] address, byte[] mask)
    {
        var network = address.Select((b, i) => (byte)(b & mask[i])).ToArray();
        if (!_ipRanges.Any(r => r.Network.AsSpan().SequenceEqual(network) && r.Mask.AsSpan().SequenceEqual(mask)))
        {
            _ipRanges.Add((network, mask));
        }
    }
}
