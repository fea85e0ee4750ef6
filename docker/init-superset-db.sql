-- Superset keeps its metadata in its own database beside Airflow's.
CREATE DATABASE superset;
DO $$ BEGIN
  EXECUTE format('CREATE ROLE superset LOGIN PASSWORD %L', current_setting('superset.password', true));
EXCEPTION WHEN others THEN NULL; END $$;
GRANT ALL PRIVILEGES ON DATABASE superset TO superset;
