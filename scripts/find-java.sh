# Sourced by bin/gguf-lens and .ci/run: exports JAVA_HOME pointing at a JDK 25 or newer.
# Order: $JAVA_HOME if it is 25+, then `java` on PATH, then JDKs under /usr/lib/jvm and macOS's
# /Library/Java/JavaVirtualMachines.
gguflens_java_major() {
    "$1/bin/java" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1
}

gguflens_find_java() {
    local candidate
    local candidates=()
    [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
    if command -v java >/dev/null 2>&1; then
        candidates+=("$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")")
    fi
    for candidate in /usr/lib/jvm/* /Library/Java/JavaVirtualMachines/*/Contents/Home; do
        [ -x "$candidate/bin/java" ] && candidates+=("$candidate")
    done
    for candidate in "${candidates[@]}"; do
        [ -x "$candidate/bin/java" ] || continue
        local major
        major=$(gguflens_java_major "$candidate")
        if [ -n "$major" ] && [ "$major" -ge 25 ]; then
            export JAVA_HOME="$candidate"
            return 0
        fi
    done
    echo "gguf-lens: no JDK 25 found (looked at \$JAVA_HOME, java on PATH, /usr/lib/jvm); install one, e.g. 'apt-get install temurin-25-jdk', and set JAVA_HOME" >&2
    return 1
}
