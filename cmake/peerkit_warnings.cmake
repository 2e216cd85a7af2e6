# Warnings for peerkit's own tests, examples, benchmarks and fuzzers (never imposed on users).
# -Wconversion and -Wsign-conversion catch the silent narrowing that wire-format code is prone
# to; -Wshadow catches the field/parameter mix-ups that protocol state machines invite.
add_library(peerkit_warnings INTERFACE)
target_compile_options(peerkit_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Wimplicit-fallthrough
  $<$<BOOL:${PEERKIT_WERROR}>:-Werror>)
