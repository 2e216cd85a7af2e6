# Shared by scripts/test.sh and scripts/demo.sh: package installation and build helpers.
# shellcheck shell=bash

peerkit_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

peerkit_missing_packages() {
  local pkg missing=() provided
  # Names that installed packages provide (npm is provided by a nodejs package that bundles it,
  # and conflicts with Debian's npm: asking apt for npm there would replace that nodejs).
  provided=" $(dpkg-query -W -f='${Status}|${Provides}\n' 2>/dev/null |
    awk -F'|' '$1 == "install ok installed" && $2 != "" { print $2 }' |
    tr ',' '\n' | sed 's/ *(.*//; s/^ *//' | tr '\n' ' ') "
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    [[ "$provided" == *" $pkg "* ]] && continue
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done < "$peerkit_root/scripts/packages.txt"
  echo "${missing[@]:-}"
}

# Installs what is missing with apt; when not root, prints the command and stops.
peerkit_install_packages() {
  local missing
  missing=$(peerkit_missing_packages)
  [[ -z "$missing" ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "peerkit needs these Debian packages: $missing" >&2
    echo "run as root:  apt-get update && apt-get install -y $missing" >&2
    exit 1
  fi
  echo "== installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
}

peerkit_jobs() { nproc 2>/dev/null || echo 2; }
