#!/usr/bin/env bash
# Fails when a header of peerkit::core (anything outside asio/, signaling/ and openssl/
# folders) includes Boost, OpenSSL or a POSIX/OS header: codec users must never pay for them.
set -euo pipefail
root=${1:?include directory}
cd "$root"
bad=$(grep -RnE '^\s*#\s*include\s*[<"](boost/|openssl/|sys/|netinet/|arpa/|unistd\.h|windows\.h)' peerkit \
      | grep -vE '^peerkit/([^:]*/)?(asio|signaling|openssl)(/|\.hpp:)' | grep -v '^peerkit/peerkit\.hpp:' || true)
if [[ -n "$bad" ]]; then
  echo "core headers must use the standard library only; offending includes:" >&2
  echo "$bad" >&2
  exit 1
fi
count=$(find peerkit -name '*.hpp' | wc -l)
echo "layering ok: $count headers checked"
