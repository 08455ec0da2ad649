# Compiles one C++ source ($1, include dir $2) with g++ into the current
# directory and prints the object's defined symbols and a digest of it.
set -euo pipefail
g++ -std=c++20 -O2 -Wall -Wextra -I "$2" -c "$1" -o unit.o
nm --defined-only -C unit.o | sort
md5sum < unit.o
