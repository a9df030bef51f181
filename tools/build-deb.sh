#!/usr/bin/env bash
# `make deb`: build the Debian package from this tree with dpkg-buildpackage
# (debian/rules: dh with dh_apache2) and check it with lintian.
#
#   build/libapache2-mod-pingone-consent_<version>_<arch>.deb   the package
#   build/deb/   the rest: .changes, .buildinfo, .dsc, source tarball,
#                the -dbgsym package, build.log, lintian.txt
#
# dpkg-buildpackage writes next to the source directory, so the tree (what
# git tracks plus new files it does not ignore, as they are on disk) is
# copied to a temporary directory and built there: the checkout stays clean.
# As root, missing build dependencies (debian/control) are installed.
#   PC_DEB_LINTIAN=0   skip lintian (make test-deb builds twice as fast)
#   PC_DEB_QUIET=1     build output only into build/deb/build.log
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# --- tools and build dependencies ----------------------------------------
# (Rules-Requires-Root: no, so no fakeroot)
tools=(dpkg-dev debhelper)
[ "${PC_DEB_LINTIAN:-1}" = 0 ] || tools+=(lintian)
bash tools/deps.sh "${tools[@]}"
if ! unmet=$(dpkg-checkbuilddeps 2>&1); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "$unmet" >&2
    echo "run as root (make deb installs them), or: sudo apt-get build-dep $top" >&2
    exit 1
  fi
  echo "installing build dependencies: ${unmet##*: }"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get build-dep -y -qq --no-install-recommends "$top" >/dev/null
fi

src=$(dpkg-parsechangelog -S Source)
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="${src}_${version}_${arch}.deb"

# --- a copy of the tree --------------------------------------------------
tmp=$(mktemp -d /tmp/pc-deb.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
work="$tmp/$src-$version"
mkdir -p "$work"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # Tracked files deleted on disk are left out, as a build would see them.
  git -C "$top" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$work"
else
  tar --exclude=./build --exclude=./build-asan --exclude=./.git -cf - . | tar -xf - -C "$work"
fi

# --- build ---------------------------------------------------------------
mkdir -p build/deb
rm -f build/deb/* build/"${src}"_*.deb
export DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=2}"
echo "dpkg-buildpackage: $src $version ($arch) in $work"
if [ "${PC_DEB_QUIET:-0}" = 1 ]; then
  (cd "$work" && dpkg-buildpackage -us -uc) >build/deb/build.log 2>&1 || {
    tail -n 40 build/deb/build.log; echo "build failed: see build/deb/build.log" >&2; exit 1; }
else
  (cd "$work" && dpkg-buildpackage -us -uc) 2>&1 | tee build/deb/build.log
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed: see build/deb/build.log" >&2; exit 1; }
fi

# --- lintian: the source and binary packages (through the .changes) ------
# (run before the files move: the .changes names them next to itself)
lst=0
if [ "${PC_DEB_LINTIAN:-1}" != 0 ]; then
  # Overridden tags are shown (O:) but do not fail; the verdict is taken
  # from the tags, since --fail-on counts shown overrides too.
  lintian --info --display-info --pedantic --show-overrides --fail-on none \
    "$tmp/${src}_${version}_${arch}.changes" >build/deb/lintian.txt 2>&1 || lst=$?
fi

for f in "$tmp"/*; do
  [ -f "$f" ] || continue
  case "$(basename "$f")" in
    "$deb") mv "$f" build/ ;;
    *) mv "$f" build/deb/ ;;
  esac
done
[ -f "build/$deb" ] || { echo "no build/$deb after the build" >&2; exit 1; }
echo "built build/$deb"

if [ "${PC_DEB_LINTIAN:-1}" != 0 ]; then
  # Tags only (the explanations are in the file); lintian warns that it
  # runs as root, which is harmless here: the packages are our own.
  grep -E '^[EWIPXO]: ' build/deb/lintian.txt | sed 's/^/lintian: /' || true
  [ "$lst" -eq 0 ] || { echo "lintian failed (exit $lst): see build/deb/lintian.txt" >&2; exit 1; }
  ! grep -qE '^[EW]: ' build/deb/lintian.txt ||
    { echo "lintian found errors or warnings: see build/deb/lintian.txt" >&2; exit 1; }
  echo "lintian: no error or warning (full output: build/deb/lintian.txt)"
fi
