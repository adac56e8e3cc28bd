#!/usr/bin/env bash
# Fetch GraalPy and the Graal compiler from Maven Central (pom.xml) into target/lib and
# target/compiler, with Maven running on the JDK 25 that graalpy/graalpy uses, then start
# GraalPy once: it unpacks its standard library into target/resource-cache and must report
# the optimizing Truffle runtime (the JIT), not the interpreter-only fallback.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

java_home="$(bash "$here/graalpy" --java-home)"
start=$SECONDS
# (JDK 25 warns about Maven's own use of sun.misc.Unsafe unless told to allow it)
JAVA_HOME="$java_home" MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
  mvn -B -q -f "$here/pom.xml" \
  dependency:copy-dependencies@lib dependency:copy-dependencies@compiler
echo "graalpy: jars fetched in $((SECONDS - start)) s ($(du -sh "$here/target" | cut -f1))"

start=$SECONDS
version="$(bash "$here/graalpy" -c 'import sys; print(" ".join(sys.version.split()))')"
echo "graalpy: first start took $((SECONDS - start)) s: $version"
case "$version" in
  *Interpreted*)
    echo "graalpy: running WITHOUT the JIT (Truffle's interpreter-only runtime)" >&2
    exit 1 ;;
esac
