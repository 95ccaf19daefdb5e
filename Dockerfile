# Email OAuth2 Proxy as a container: the seed's way, beside EspoCRM (docker-compose.yml).
#
#   docker build -t emailproxy .
#
# The base images are arguments so that a build without access to Microsoft's registry can pass
# local ones (the tests build them from Debian with mmdebstrap: see .ci/docker-images):
#   SDK_IMAGE   an image with the .NET 10 SDK (the build stage)
#   BASE_IMAGE  a runtime-deps image: glibc, libssl3, ca-certificates, tzdata and a user 1654
# Target `runtime` (the default) builds from source; target `prebuilt` takes a binary already
# published on the host into ./publish/emailproxy (dotnet publish … -o publish), for machines
# whose build stage cannot reach NuGet.
# READY_TO_RUN (default true) compiles the proxy and the framework ahead of time for a faster start
# (docs/performance.md); the image tests turn it off to save minutes of crossgen on two cores.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0
ARG BASE_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0

FROM ${SDK_IMAGE} AS build
ARG READY_TO_RUN=true
WORKDIR /src
# Restore first, from the project files alone, so that a source change keeps the restored layer.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/EmailProxy/EmailProxy.csproj src/EmailProxy/
RUN dotnet restore src/EmailProxy/EmailProxy.csproj -r linux-x64 -p:SelfContained=true -p:PublishReadyToRun=${READY_TO_RUN}
COPY src/ src/
ARG VERSION_COMMIT=unknown
RUN dotnet publish src/EmailProxy/EmailProxy.csproj --no-restore -c Release -r linux-x64 --self-contained \
      -p:PublishSingleFile=true -p:PublishReadyToRun=${READY_TO_RUN} -p:SourceRevisionId=${VERSION_COMMIT} -o /publish \
 && rm -f /publish/*.pdb

# The common part of both runtime targets.
FROM ${BASE_IMAGE} AS base
ARG VERSION=0.1.0
ARG VERSION_COMMIT=unknown
LABEL org.opencontainers.image.title="Email OAuth2 Proxy" \
      org.opencontainers.image.description="IMAP, SMTP and POP3 with a plain login in front of OAuth2 mailboxes (Microsoft 365, Gmail)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${VERSION_COMMIT}" \
      org.opencontainers.image.licenses="MIT"
# /config holds the configuration file, the token folder, the key and tls/: the proxy's only state.
ENV EMAILPROXY_CONFIG=/config/emailproxy.config \
    DOTNET_RUNNING_IN_CONTAINER=true
# Owned by the proxy's user, so that a named volume (docker run -v data:/config) starts writable; a bind
# mount brings its own owner (install -d -o 1654 -g 1654 config on the host).
RUN install -d -o 1654 -g 1654 -m 0700 /config
VOLUME /config
WORKDIR /config
EXPOSE 1993 1587 1995 18089
# The binary probes itself: no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/emailproxy", "health"]
# SIGTERM stops it cleanly: open sessions are ended within ten seconds (compose waits fifteen).
STOPSIGNAL SIGTERM
USER 1654:1654
ENTRYPOINT ["/usr/local/bin/emailproxy"]
CMD ["run"]

FROM base AS prebuilt
COPY --chmod=0755 publish/emailproxy /usr/local/bin/emailproxy

FROM base AS runtime
COPY --from=build --chmod=0755 /publish/emailproxy /usr/local/bin/emailproxy
