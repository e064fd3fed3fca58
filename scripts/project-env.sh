# Sourced by scripts/test and scripts/run-site: the Python environment they use.
#
#   use_project_env VENV_DIR EXTRAS [CONSTRAINTS_FILE]
#
# Sets PYTHON to the interpreter of a virtual environment with this checkout
# installed (editable) with EXTRAS, and puts its bin/ first on PATH.
#
# - Already inside a virtual environment (the python3 on PATH, or $PYTHON,
#   belongs to one)? That environment is used, unless CONSTRAINTS_FILE is given.
# - Otherwise VENV_DIR (in the checkout, ignored by git) is created from that
#   python3 without system site-packages, so packages installed by hand on the
#   machine are never seen and a run tests what a fresh machine gets.
#
# pip runs only when the environment has not been installed from this exact
# pyproject.toml, setup.py (which writes the Flask switch's .pth file), extras
# and constraints (a stamp file in the environment
# records them), so a second run installs nothing.

type say >/dev/null 2>&1 || say() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }

use_project_env() {
    local venv_dir=$1 extras=$2 constraints=${3:-}
    local base_python=${PYTHON:-$(command -v python3 || command -v python || true)}
    if [ -z "$base_python" ]; then
        say "no python3 on PATH; install Python 3.11 or newer"
        exit 1
    fi
    local in_venv
    in_venv=$("$base_python" -c 'import sys; print(int(sys.prefix != sys.base_prefix))')
    if [ "$in_venv" = 1 ] && [ -z "$constraints" ]; then
        PYTHON=$base_python
    else
        if [ ! -x "$venv_dir/bin/python" ]; then
            say "creating the virtual environment $venv_dir"
            if ! "$base_python" -m venv "$venv_dir"; then
                rm -rf "$venv_dir"
                say "'$base_python -m venv' failed; on Debian: apt-get install python3-venv"
                exit 1
            fi
        fi
        PYTHON=$(cd "$venv_dir" && pwd)/bin/python
    fi
    local prefix
    prefix=$("$PYTHON" -c 'import sys; print(sys.prefix)')
    export VIRTUAL_ENV=$prefix
    export PATH="$prefix/bin:$PATH"

    # The stamp: what this environment was last installed from.
    local stamp_file="$prefix/gateway-install.stamp" wanted
    wanted=$(
        printf '%s\n' "$PWD" "$extras"
        cat pyproject.toml setup.py
        if [ -n "$constraints" ]; then cat "$constraints"; fi
    )
    wanted=$(printf '%s' "$wanted" | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$wanted" ]; then
        local args=(-e ".[$extras]")
        if [ -n "$constraints" ]; then args+=(-c "$constraints"); fi
        say "pip install ${args[*]} into $prefix"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check "${args[@]}" >&2
        printf '%s\n' "$wanted" >"$stamp_file"
    fi
}
