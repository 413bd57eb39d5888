#!/bin/sh
# Builds the executable for the architecture of the machine (or container) it runs in.
# ggp runs it inside a builder container of the target architecture with the function folder as
# the working directory and GGP_OUT naming the folder whose contents become the Lambda package.
set -eu
out="${GGP_OUT:-build}"
mkdir -p "$out"
cc -O2 -Wall -o "$out/hello" hello.c
