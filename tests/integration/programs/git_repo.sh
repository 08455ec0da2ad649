# git init/add/commit/gc/fsck in a fresh repository under the current
# directory. Author, committer and dates are fixed, so commit ids are the
# same in every run.
set -euo pipefail
export GIT_AUTHOR_NAME=hakmem GIT_AUTHOR_EMAIL=hakmem@example.invalid
export GIT_COMMITTER_NAME=hakmem GIT_COMMITTER_EMAIL=hakmem@example.invalid
export GIT_AUTHOR_DATE='2024-01-02T03:04:05Z' GIT_COMMITTER_DATE='2024-01-02T03:04:05Z'
git init -q -b main repo
cd repo
git config gc.auto 0
for i in $(seq 1 150); do seq 1 "$i" > "file$i.txt"; done
seq 1 200000 > big.txt
git add .
git commit -q -m "first commit"
for i in $(seq 1 5 150); do echo "changed $i" >> "file$i.txt"; done
sed -i 's/^1234/one-two-three-four/' big.txt
git commit -q -a -m "second commit"
git log --format='%H %s'
git cat-file -p 'HEAD^{tree}' | sed -n '1,20p'
git diff --stat HEAD~1 HEAD | tail -n 1
git gc -q
git fsck --strict --no-progress
git count-objects -v | grep -E '^(count|in-pack|packs)'
