# Sourced by the benchmarks: `free_port` prints a loopback port no one listens
# on (the kernel's pick for a socket bound to port 0, closed again).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
