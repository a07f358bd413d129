#!/usr/bin/env bash
# Proves the README's two commands on a fresh Debian 12 (bookworm) machine:
# makes a minimal root with mmdebstrap (no compiler, no python3, no git, no
# sudo, no node), copies this checkout in (tracked and untracked-not-ignored
# files, as a clone would have them) with ../shared/anchor beside it (as the
# developers' machines and CI have it), and runs, as root inside it,
#   scripts/demo.sh     (the main job)
#   scripts/test.sh     (the whole test suite)
# each with a clean environment. Prints each phase's time and the logs' tails;
# the full logs are kept under the root's parent folder.
#
#   scripts/fresh-root.sh [--dir DIR] [--only demo|tests] [--ccache] [--keep]
#
#   --dir DIR     where the root goes (default /tmp/llmc-fresh-root); made anew
#   --only P      run one of the two commands
#   --ccache      share this machine's ccache folder with the root (the same
#                 paths, so objects are reused). It cannot hide a missing
#                 package: the root's compiler still preprocesses every file
#                 against the root's own headers. Without it the build is cold.
#   --keep        leave the root in place afterwards (it is removed otherwise)
#
# Needs root (chroot, mounts) and mmdebstrap (installed if missing). Debian 12's
# Node is 18 and the root has no CUDA toolkit, so the tests that need
# node-llama-cpp or ptxas are skipped there, each by name; nothing else may be.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=/tmp/llmc-fresh-root
ONLY="" CCACHE=0 KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --ccache) CCACHE=1; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fresh-root: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "fresh-root: run as root (chroot and mounts)" >&2; exit 1; }
case "$ONLY" in ""|demo|tests) ;; *) echo "fresh-root: --only demo or tests" >&2; exit 2 ;; esac
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT=$DIR/root
LOGS=$DIR/logs
# The same paths inside as here, so that ccache (--ccache) can reuse objects.
INNER_SRC=$SRC
INNER_ANCHOR=$(dirname "$SRC")/shared/anchor

MOUNTS=()
cleanup() {
  local i
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
  if ((!KEEP)) && [[ -d $ROOT ]]; then rm -rf "$ROOT"; fi
}
trap cleanup EXIT
bind() { # bind HOST_PATH ROOT_PATH
  mkdir -p "$2"
  mount --bind "$1" "$2"
  MOUNTS+=("$2")
}

declare -a PHASES=()
timed() { # timed NAME COMMAND...
  local name=$1 start=$SECONDS rc=0
  shift
  echo "==> $name"
  "$@" || rc=$?
  PHASES+=("$(printf '%-28s %5ds  exit %d' "$name" $((SECONDS - start)) $rc)")
  return $rc
}

command -v mmdebstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null; }
rm -rf "$ROOT" && mkdir -p "$DIR" "$LOGS"

timed "mmdebstrap bookworm" mmdebstrap --quiet --variant=minbase \
  --aptopt='Acquire::Check-Valid-Until "false"' bookworm "$ROOT" "$MIRROR"
have=$(for t in git sudo cc c++ python3 node npm pkg-config cmake; do
  if chroot "$ROOT" sh -c "command -v $t" >/dev/null 2>&1; then printf '%s ' "$t"; fi; done)
echo "    of git sudo cc c++ python3 node npm pkg-config cmake, the new root has: ${have:-none}"

copy_checkout() {
  mkdir -p "$ROOT$INNER_SRC"
  (cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - -cf -) | tar -xf - -C "$ROOT$INNER_SRC"
  if [[ -d $SRC/../shared/anchor ]]; then
    mkdir -p "$ROOT$INNER_ANCHOR"
    cp -a "$SRC/../shared/anchor/." "$ROOT$INNER_ANCHOR/"
  fi
}
timed "copy checkout + anchor" copy_checkout

bind /proc "$ROOT/proc"
bind /sys "$ROOT/sys"
bind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
if ((CCACHE)); then
  host_cache=$(ccache -k cache_dir 2>/dev/null || echo "$HOME/.cache/ccache")
  mkdir -p "$host_cache"
  bind "$host_cache" "$ROOT/root/.cache/ccache"
fi

inside() { # inside LOG COMMAND: runs in the root with a clean environment
  local log=$1
  shift
  chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    bash -c "cd '$INNER_SRC' && $*" > "$log" 2>&1
}

status=0
if [[ -z $ONLY || $ONLY == demo ]]; then
  timed "scripts/demo.sh" inside "$LOGS/demo.log" scripts/demo.sh || status=1
  echo "--- demo.log (tail)"; tail -n 25 "$LOGS/demo.log"
fi
if [[ -z $ONLY || $ONLY == tests ]]; then
  timed "scripts/test.sh" inside "$LOGS/test.log" scripts/test.sh || status=1
  echo "--- test.log: setup's skips, lit's notes and summaries"
  grep -E "^setup: SKIP|note: skipping|Total Discovered|Passed|Failed|Unsupported|tests passed|tests failed|Skipped" "$LOGS/test.log" || true
  echo "--- test.log (tail)"; tail -n 25 "$LOGS/test.log"
fi
echo
echo "==> fresh-root phases (logs in $LOGS)"
printf '  %s\n' "${PHASES[@]}"
exit $status
