#!/usr/bin/env bash
# Runs the JMH benchmarks compiled into target/test-classes (build first: ./mvnw -Dgguflens.native.skip=true test-compile).
# Arguments go to JMH, e.g.  scripts/jmh.sh FusedMatmulBenchmark -p type=Q8_0 -p m=37 -f 1 -wi 2 -i 3
set -euo pipefail
cd "$(dirname "$0")/.."
# The JDK 25 the build used (Maven's toolchain found it and recorded it in target/jdk-home).
java_home=$(cat target/jdk-home 2>/dev/null) || { echo "jmh.sh: build first: ./mvnw -Dgguflens.native.skip=true test-compile" >&2; exit 1; }
cp_file=target/jmh-classpath.txt
if [[ ! -s $cp_file || pom.xml -nt $cp_file ]]; then
  ./mvnw -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp_file" >/dev/null
fi
exec "$java_home/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
  -cp "target/test-classes:target/classes:$(cat "$cp_file")" org.openjdk.jmh.Main "$@"
