#!/bin/sh
case "$1" in
  --config*) exec /tmp/otelcol-s14 --feature-gates=pdata.useProtoPooling "$@" ;;
  *) exec /tmp/otelcol-s14 "$@" ;;
esac
