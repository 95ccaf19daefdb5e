using System.Buffers.Binary;
using System.Security.Cryptography;
using EmailProxy.Storage;
using Microsoft.Win32.SafeHandles;

namespace EmailProxy.Graph;

/// <summary>
/// One message while it is received and sent on, never whole in memory: a private temporary file
/// (0600, removed from its folder as soon as it is open, so that nothing is left behind even by a
/// crash), encrypted with AES-GCM under a random key that lives only in this object. Chunks of
/// <see cref="ChunkSize"/> bytes are sealed one by one, each with its own nonce (its index: one key
/// per file, so a counter never repeats) and tag. Written once from start to end, then read any
/// number of times (<see cref="OpenRead"/>), which checks each chunk's tag.
/// </summary>
internal sealed class MessageSpool : IDisposable
{
    public const int ChunkSize = 64 * 1024;
    private const int TagSize = 16;
    private const int NonceSize = 12;

    private readonly FileStream _stream;
    private readonly SafeFileHandle _file;
    private readonly AesGcm _aes;
    private readonly byte[] _pending = new byte[ChunkSize];
    private int _pendingLength;
    private long _chunks;
    private bool _completed;

    private MessageSpool(FileStream stream, byte[] key)
    {
        _stream = stream;
        _file = stream.SafeFileHandle;
        _aes = new AesGcm(key, TagSize);
        CryptographicOperations.ZeroMemory(key);
    }

    /// <summary>The plaintext bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>A new empty spool in <paramref name="folder"/> (the system's temporary folder when null).</summary>
    public static MessageSpool Create(string? folder = null)
    {
        var path = Path.Combine(folder ?? Path.GetTempPath(), $"emailproxy-spool-{Guid.NewGuid():N}{PrivateFile.TemporarySuffix}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous, BufferSize = 0 };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile.OwnerReadWrite;
        }
        var file = new FileStream(path, options);
        try
        {
            // Gone from the folder at once; the open handle keeps the data until it is closed.
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // DeleteOnClose removes it at the end instead.
        }
        return new MessageSpool(file, RandomNumberGenerator.GetBytes(32));
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        while (!data.IsEmpty)
        {
            var take = Math.Min(data.Length, ChunkSize - _pendingLength);
            data.Span[..take].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += take;
            Length += take;
            data = data[take..];
            if (_pendingLength == ChunkSize)
            {
                await SealPendingAsync(cancellationToken);
            }
        }
    }

    /// <summary>The message is whole: the last partial chunk is sealed. Nothing more may be written.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        if (!_completed)
        {
            if (_pendingLength > 0)
            {
                await SealPendingAsync(cancellationToken);
            }
            _completed = true;
        }
    }

    /// <summary>A stream that appends to the spool (before <see cref="CompleteAsync"/>); disposing it does not complete the spool.</summary>
    public Stream OpenWrite() => new SpoolWriteStream(this);

    /// <summary>A stream of the plaintext from the start (after <see cref="CompleteAsync"/>).</summary>
    public Stream OpenRead()
    {
        if (!_completed)
        {
            throw new InvalidOperationException("The spool is still being written.");
        }
        return new SpoolReadStream(this);
    }

    public void Dispose()
    {
        _aes.Dispose();
        _stream.Dispose();
    }

    private async ValueTask SealPendingAsync(CancellationToken cancellationToken)
    {
        var sealedChunk = new byte[_pendingLength + TagSize];
        Seal(_chunks, _pending.AsSpan(0, _pendingLength), sealedChunk);
        await RandomAccess.WriteAsync(_file, sealedChunk, _chunks * (ChunkSize + TagSize), cancellationToken);
        _chunks++;
        _pendingLength = 0;
    }

    private void Seal(long index, ReadOnlySpan<byte> plain, Span<byte> sealedChunk)
    {
        Span<byte> nonce = stackalloc byte[NonceSize];
        BinaryPrimitives.WriteInt64BigEndian(nonce[4..], index);
        _aes.Encrypt(nonce, plain, sealedChunk[..plain.Length], sealedChunk[plain.Length..]);
    }

    /// <summary>Reads chunk <paramref name="index"/> into <paramref name="plain"/>; returns its length. Throws <see cref="CryptographicException"/> when the file was altered.</summary>
    private async ValueTask<int> OpenChunkAsync(long index, byte[] sealedBuffer, byte[] plain, CancellationToken cancellationToken)
    {
        var plainLength = (int)Math.Min(ChunkSize, Length - (index * ChunkSize));
        var offset = index * (ChunkSize + TagSize);
        var read = 0;
        while (read < plainLength + TagSize)
        {
            var n = await RandomAccess.ReadAsync(_file, sealedBuffer.AsMemory(read, plainLength + TagSize - read), offset + read, cancellationToken);
            if (n == 0)
            {
                throw new IOException("The message spool file ended early.");
            }
            read += n;
        }
        var nonce = new byte[NonceSize];
        BinaryPrimitives.WriteInt64BigEndian(nonce.AsSpan(4), index);
        _aes.Decrypt(nonce, sealedBuffer.AsSpan(0, plainLength), sealedBuffer.AsSpan(plainLength, TagSize), plain.AsSpan(0, plainLength));
        return plainLength;
    }

    /// <summary>The plaintext, chunk by chunk; seekable (MimeKit's parser and HTTP content may look at the length or start over).</summary>
    private sealed class SpoolReadStream(MessageSpool spool) : Stream
    {
        private readonly byte[] _sealed = new byte[ChunkSize + TagSize];
        private readonly byte[] _plain = new byte[ChunkSize];
        private long _chunk = -1;
        private int _chunkLength;
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => spool.Length;

        public override long Position
        {
            get => _position;
            set => _position = Math.Clamp(value, 0, spool.Length);
        }

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position >= spool.Length || buffer.IsEmpty)
            {
                return 0;
            }
            var index = _position / ChunkSize;
            if (index != _chunk)
            {
                _chunkLength = await spool.OpenChunkAsync(index, _sealed, _plain, cancellationToken);
                _chunk = index;
            }
            var within = (int)(_position - (index * ChunkSize));
            var take = Math.Min(buffer.Length, _chunkLength - within);
            _plain.AsMemory(within, take).CopyTo(buffer);
            _position += take;
            return take;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => spool.Length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                CryptographicOperations.ZeroMemory(_plain);
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Writes into the spool (MimeKit and decoders write to streams); <see cref="CompleteAsync"/> still ends it.</summary>
    private sealed class SpoolWriteStream(MessageSpool spool) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => spool.Length;

        public override long Position
        {
            get => spool.Length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) =>
            spool.WriteAsync(buffer.AsMemory(offset, count), CancellationToken.None).AsTask().GetAwaiter().GetResult();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            spool.WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            spool.WriteAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

    }
}
