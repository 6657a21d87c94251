#!/usr/bin/env bash
# Compress log files older than N days in a folder.
set -euo pipefail

usage() {
  echo "usage: $0 LOG_DIR [DAYS]" >&2
  exit 2
}

compress_old() {
  local dir="$1" days="$2"
  find "$dir" -type f -name '*.log' -mtime +"$days" -print0 |
    while IFS= read -r -d '' file; do
      gzip -9 -- "$file"
      echo "compressed ${file#"$dir"/}"
    done
}

main() {
  [[ $# -ge 1 ]] || usage
  local log_dir="$1"
  local days="${2:-7}"
  if [[ ! -d $log_dir ]]; then
    echo "not a folder: $log_dir" >&2
    exit 1
  fi
  compress_old "$log_dir" "$days"
}

main "$@"
