#!/usr/bin/env bash
# Start the local services the tests use, if they are down (idempotent, quiet when all is up).
set -u
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
if command -v redis-cli >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  echo "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if command -v rabbitmq-server >/dev/null 2>&1 && \
   ! timeout 3 bash -c '</dev/tcp/127.0.0.1/5672' >/dev/null 2>&1; then
  echo "starting RabbitMQ"
  (service rabbitmq-server start || rabbitmq-server -detached) >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do timeout 3 bash -c '</dev/tcp/127.0.0.1/5672' 2>/dev/null && break; sleep 1; done
fi
exit 0
