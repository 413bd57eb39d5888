#!/bin/sh
# Builds a Java function's jar and unpacks it into /ggp/package (ggp build; Java needs no emulation).
#   java.sh FUNCTION_NAME [JAR_PATH]
# Gradle (gradlew, build.gradle[.kts]), Maven (pom.xml) or build.sh, whichever the folder has. The jar is
# JAR_PATH (jarPath in function.conf), else GGP's build/libs/FUNCTION_NAME-1.0-SNAPSHOT-all.jar, else the
# only jar in $GGP_OUT, build/libs or target.
set -eu
fn=$1
jar_path=${2:-}
export GGP_OUT=/ggp/out GGP_FUNCTION="$fn"
mkdir -p "$GGP_OUT" /ggp/package
if [ -f /ggp/.ggp/ca.crt ]; then
  export SSL_CERT_FILE=/ggp/.ggp/ca.crt
fi
need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "ggp-error: $2 needs $1, which the builder image does not have; set buildImage to an image with it"
    exit 1
  }
}
if [ -f gradlew ]; then
  need java "gradlew"
  sh ./gradlew --no-daemon build
elif [ -f build.gradle ] || [ -f build.gradle.kts ]; then
  need gradle "build.gradle"
  gradle --no-daemon build
elif [ -f pom.xml ]; then
  need mvn "pom.xml"
  mvn -B package -DskipTests
elif [ -f build.sh ]; then
  chmod +x build.sh
  ./build.sh
fi
if [ -n "$jar_path" ]; then
  jar=$jar_path
  [ -f "$jar" ] || { echo "ggp-error: jarPath $jar does not exist after the build"; exit 1; }
elif [ -f "build/libs/$fn-1.0-SNAPSHOT-all.jar" ]; then
  jar=build/libs/$fn-1.0-SNAPSHOT-all.jar
else
  found=$(find "$GGP_OUT" build/libs target -maxdepth 1 -name '*.jar' ! -name '*-sources.jar' \
    ! -name '*-javadoc.jar' ! -name '*-plain.jar' ! -name 'original-*.jar' 2>/dev/null | sort)
  count=$(printf '%s' "$found" | grep -c . || true)
  if [ "$count" != 1 ]; then
    echo "ggp-error: found $count jars ($(echo "$found" | tr "\n" " ")); set jarPath in function.conf to the one to deploy"
    exit 1
  fi
  jar=$found
fi
echo "packaging $jar"
jar=$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")
cd /ggp/package
if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "$jar"
elif command -v jar >/dev/null 2>&1; then
  jar xf "$jar"
else
  python3 -m zipfile -e "$jar" .
fi
