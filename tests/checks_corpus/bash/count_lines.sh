#!/usr/bin/env bash
set -Eeuo pipefail

main() {
  local verbose=0 pattern="*" output=""
  while getopts "vp:o:h" opt; do
    case "$opt" in
      v) verbose=1 ;;
      p) pattern="$OPTARG" ;;
      o) output="$OPTARG" ;;
      h) echo "usage: count_lines.sh [-v] [-p GLOB] [-o FILE] FOLDER"; return 0 ;;
      *) return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  local folder=${1:-.}
  local total=0 count
  declare -A per_ext=()
  for file in "$folder"/$pattern; do
    [[ -f $file ]] || continue
    count=$(wc -l < "$file")
    total=$((total + count))
    per_ext[${file##*.}]=$(( ${per_ext[${file##*.}]:-0} + count ))
    (( verbose )) && printf '%8d %s\n' "$count" "$file"
  done
  {
    for ext in "${!per_ext[@]}"; do printf '%-8s %d\n' "$ext" "${per_ext[$ext]}"; done
    echo "total $total"
  } > "${output:-/dev/stdout}"
}

main "$@"
