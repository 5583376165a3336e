#!/bin/sh
# No two files under tests/ are byte-identical: a copy is one more thing to keep in step
# (derived files, such as the fuzz seed corpora, are built into $BUILD instead). Run from
# the repository root; one PASS or FAIL line naming the identical files.
set -u
list=$(mktemp)
trap 'rm -f "$list"' EXIT
# cksum and size group the candidates; cmp confirms each pair
find tests -type f ! -path '*/__pycache__/*' -exec cksum {} + | sort >"$list"
n=$(wc -l <"$list")
dups=$(awk '{ key = $1 " " $2; if (key == last) { print prev; print $3 } last = key; prev = $3 }' "$list" | sort -u)
same=
for f in $dups; do
    for g in $dups; do
        [ "$f" \< "$g" ] && cmp -s "$f" "$g" && same="$same $f=$g"
    done
done
if [ -z "$same" ]; then
    echo "PASS: no two of the $n files under tests/ are byte-identical"
else
    echo "FAIL: byte-identical files under tests/:$same (keep one; generate derived files into \$BUILD)"
fi
