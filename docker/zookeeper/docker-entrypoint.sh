#!/bin/sh
# The official zookeeper image's entrypoint contract, for Debian's ZooKeeper: writes
# $ZOO_CONF_DIR/zoo.cfg from the ZOO_* variables on the first start (a restarted container
# keeps its file and its data), writes myid, then runs the server in the foreground.
set -eu

config="$ZOO_CONF_DIR/zoo.cfg"
if [ ! -f "$config" ]; then
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=$ZOO_TICK_TIME"
    echo "initLimit=$ZOO_INIT_LIMIT"
    echo "syncLimit=$ZOO_SYNC_LIMIT"
    echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
    echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
    echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
    echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
    echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
    # One server unless told otherwise; the official image's default.
    for server in ${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do echo "$server"; done
    if [ -n "${ZOO_4LW_COMMANDS_WHITELIST:-}" ]; then echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"; fi
    for entry in ${ZOO_CFG_EXTRA:-}; do echo "$entry"; done
  } >"$config"
fi
if [ ! -f "$ZOO_DATA_DIR/myid" ]; then echo "${ZOO_MY_ID:-1}" >"$ZOO_DATA_DIR/myid"; fi

# `zkServer.sh start-foreground` is the official image's command; Debian's zkServer.sh
# expects its own layout, so run the same main class directly (zookeeper.jar's manifest
# names its dependencies; slf4j-simple sends the log to stderr, where `docker logs` reads it).
if [ "$#" -eq 2 ] && [ "$1" = zkServer.sh ] && [ "$2" = start-foreground ]; then
  exec java ${JVMFLAGS:-} -Dzookeeper.log.dir="$ZOO_LOG_DIR" \
    -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$config"
fi
exec "$@"
