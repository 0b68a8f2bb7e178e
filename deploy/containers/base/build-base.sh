#!/usr/bin/env bash
# Builds the base image every tasador Containerfile starts FROM (default tag
# localhost/python:3.11-slim) out of Debian packages, for machines that cannot pull
# python:3.11-slim from a registry. Needs root, debootstrap and buildah.
#
#   deploy/containers/base/build-base.sh [TAG]
#
# The Debian mirror is the one apt already uses here (or DEBIAN_MIRROR), and the host's
# CA bundle goes into the image so pip inside later builds trusts what the host trusts.
set -euo pipefail

tag=${1:-localhost/python:3.11-slim}
suite=bookworm

find_mirror() {
  if [[ -n ${DEBIAN_MIRROR:-} ]]; then
    echo "$DEBIAN_MIRROR"
  elif [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources
  elif [[ -f /etc/apt/sources.list ]]; then
    awk '$1 == "deb" && $3 ~ /^bookworm/ {print $2; exit}' /etc/apt/sources.list
  fi
}

for tool in debootstrap buildah; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install $tool" >&2; exit 1; }
done
[[ $(id -u) == 0 ]] || { echo "debootstrap needs root: run this script with sudo" >&2; exit 1; }

# Cached by this script: an image this same script built is kept (CI runs it each time); edit it to rebuild.
recipe=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
built=$(buildah --storage-driver overlay inspect --type image --format '{{index .OCIv1.Config.Labels "tasador.recipe"}}' \
  "$tag" 2>/dev/null || true)
if [[ $built == "$recipe" ]]; then
  echo "$tag is already built by this script (recipe $recipe): nothing to build."
  exit 0
fi
mirror=$(find_mirror)
[[ -n $mirror ]] || { echo "no Debian mirror found in apt's sources: set DEBIAN_MIRROR" >&2; exit 1; }

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
rootfs=$workdir/rootfs

echo "debootstrap $suite from $mirror into $rootfs"
debootstrap --variant=minbase --include=python3.11,python3-pip,python3-venv,ca-certificates \
  "$suite" "$rootfs" "$mirror"

# What python:3.11-slim users expect: `python` on PATH and pip allowed to install system-wide.
ln -sf /usr/bin/python3.11 "$rootfs/usr/local/bin/python"
rm -f "$rootfs"/usr/lib/python3.11/EXTERNALLY-MANAGED
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb

tar -C "$rootfs" -czf "$workdir/rootfs.tar.gz" .
cat >"$workdir/Containerfile" <<'CONTAINERFILE'
FROM scratch
ADD rootfs.tar.gz /
ENV LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
CMD ["python"]
CONTAINERFILE

buildah --storage-driver overlay bud --isolation chroot --pull-never --label "tasador.recipe=$recipe" \
  -t "$tag" "$workdir"
echo "built $tag"
