#!/bin/sh
# The Spark Thrift server (HiveThriftServer2) in the foreground: the production connection of dbt-spark
# (NENGTAN_SPARK_METHOD=thrift) and of Superset (hive:// through PyHive). Bind address, port, cores,
# memory and the warehouse location come from the environment; extra Spark settings (an Iceberg catalog
# on object storage, credentials from the environment) from $SPARK_CONF_DIR/spark-defaults.conf.
set -eu
SPARK_HOME=$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
export SPARK_HOME
exec "$SPARK_HOME/bin/spark-submit" \
  --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2 --name nengtan-thrift \
  --conf "spark.master=${NENGTAN_SPARK_MASTER:-local[*]}" \
  --conf "spark.driver.memory=${NENGTAN_SPARK_DRIVER_MEMORY:-8g}" \
  --conf "spark.sql.warehouse.dir=${NENGTAN_SPARK_WAREHOUSE:-$NENGTAN_DATA/spark/warehouse}" \
  --conf "spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName=$NENGTAN_DATA/spark/metastore_db;create=true" \
  --conf "spark.sql.session.timeZone=Asia/Shanghai" \
  --conf "spark.sql.timestampType=TIMESTAMP_NTZ" \
  --conf "spark.ui.enabled=false" \
  --conf "spark.sql.decimalOperations.allowPrecisionLoss=false" \
  --hiveconf "hive.server2.thrift.bind.host=${NENGTAN_SPARK_BIND:-0.0.0.0}" \
  --hiveconf "hive.server2.thrift.port=${NENGTAN_SPARK_PORT:-10000}" \
  spark-internal
