# Shell helpers: a throwaway OpenSSH server on 127.0.0.1 (the parallel-ssh baseline of
# scripts/bench-fanout.sh; the drop-box tests start their own, with sftp, in Swift) and free_port.
# Source this file; needs openssh-server (scripts/install-deps.sh installs it) and root.

# start_sshd DIR PORT [CLEAN_HOME]: host key, client key (DIR/client_key), config with key-only
# auth and `StrictModes no`, sshd in the foreground in the background; its pid in DIR/sshd.pid.
# With CLEAN_HOME (an empty directory), sessions of that key get it as HOME, so the login
# shell finds no rc files to run: a plain command host, as a fleet host's remote shell is.
start_sshd() {
    local dir="$1" port="$2" clean_home="${3:-}"
    mkdir -p "$dir" /run/sshd
    ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" <<<y >/dev/null
    ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" <<<y >/dev/null
    local permit=no
    if [ -n "$clean_home" ]; then
        permit=yes
        printf 'environment="HOME=%s" %s\n' "$clean_home" "$(cat "$dir/client_key.pub")" > "$dir/authorized_keys"
    else
        cp "$dir/client_key.pub" "$dir/authorized_keys"
    fi
    chmod 600 "$dir/authorized_keys"
    cat > "$dir/sshd_config" <<CONFIG
Port $port
ListenAddress 127.0.0.1
HostKey $dir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $dir/sshd.pid.unused
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
UsePAM no
Subsystem sftp internal-sftp
MaxStartups 500
MaxSessions 500
PermitUserEnvironment $permit
LogLevel ERROR
CONFIG
    /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
    echo $! > "$dir/sshd.pid"
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "sshd did not start; see $dir/sshd.log" >&2
    return 1
}

stop_sshd() {
    local dir="$1"
    [ -f "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
}

# free_port VAR: sets VAR to a TCP port on 127.0.0.1 that nobody listens on and that this
# shell has not handed out before. Ports come from 10000-31999, below the kernel's ephemeral
# range (32768-60999 here), so that no outgoing connection can take one before its node binds;
# a random start keeps concurrent scripts apart, and the counter never repeats a port.
_free_port_next=$(( 10000 + RANDOM % 20000 ))
free_port() {
    local tries=0
    while (( tries < 22000 )); do
        local candidate=$_free_port_next
        _free_port_next=$(( _free_port_next + 1 ))
        (( _free_port_next >= 32000 )) && _free_port_next=10000
        tries=$(( tries + 1 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            printf -v "$1" '%s' "$candidate"
            return 0
        fi
    done
    echo "free_port: no free port in 10000-31999" >&2
    return 1
}
