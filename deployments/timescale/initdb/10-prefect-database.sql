-- Runs once, when the db container initialises an empty volume (docker-entrypoint-initdb.d).
-- The wheelflow tables live in POSTGRES_DB (wheelflow, with the timescaledb extension the image
-- creates); the Prefect server gets a database of its own, with the pg_trgm it needs.
CREATE DATABASE prefect;
\connect prefect
CREATE EXTENSION IF NOT EXISTS pg_trgm;
