# Shared shell helpers, sourced by the scripts in this folder.

# apt_install PACKAGE...: install Debian packages as root (or through sudo).
apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "Need root (or sudo) to apt-get install $*" >&2; return 1; }
    sudo="sudo"
  fi
  if [ -z "${APT_UPDATED:-}" ]; then
    $sudo apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
