-- The original system's database tables that import_original_database reads, as its Alembic
-- migrations leave them at head (khoantd/rule-engine, migrations/versions/: 001_initial_schema,
-- 002_add_pattern_id_to_actions, add_rule_versioning_ab_testing (execution_logs' A/B columns),
-- 003_add_attributes_table, 004_widen_action_result, 006_rules_unique_ruleset_rule_id,
-- 007_consumer_ruleset_registrations (execution_logs.consumer_id)). Re-typed for the tests;
-- SQLAlchemy's JSON is PostgreSQL's json, DateTime is timestamp without time zone.

CREATE TABLE rulesets (
    id serial PRIMARY KEY,
    name varchar(255) NOT NULL UNIQUE,
    description text,
    version varchar(50) NOT NULL,
    status varchar(50) NOT NULL,
    tenant_id varchar(255),
    is_default boolean NOT NULL,
    created_at timestamp,
    updated_at timestamp,
    created_by varchar(255),
    updated_by varchar(255),
    tags json,
    metadata json,
    CONSTRAINT check_ruleset_version_not_empty CHECK (version != '')
);
CREATE INDEX idx_rulesets_status ON rulesets (status);
CREATE INDEX idx_rulesets_version ON rulesets (version);
CREATE INDEX ix_rulesets_tenant_id ON rulesets (tenant_id);

CREATE TABLE rules (
    id serial PRIMARY KEY,
    rule_id varchar(255) NOT NULL,
    rule_name varchar(255) NOT NULL,
    attribute varchar(255) NOT NULL,
    condition varchar(50) NOT NULL,
    constant text NOT NULL,
    message text,
    weight double precision NOT NULL,
    rule_point integer NOT NULL,
    priority integer NOT NULL,
    action_result varchar(500) NOT NULL,
    status varchar(50) NOT NULL,
    version varchar(50) NOT NULL,
    ruleset_id integer NOT NULL REFERENCES rulesets (id) ON DELETE CASCADE,
    created_at timestamp,
    updated_at timestamp,
    created_by varchar(255),
    updated_by varchar(255),
    tags json,
    metadata json,
    CONSTRAINT check_weight_non_negative CHECK (weight >= 0),
    CONSTRAINT check_rule_point_non_negative CHECK (rule_point >= 0),
    CONSTRAINT uq_rules_ruleset_rule_id UNIQUE (ruleset_id, rule_id)
);
CREATE INDEX idx_rules_ruleset ON rules (ruleset_id, priority);

CREATE TABLE conditions (
    id serial PRIMARY KEY,
    condition_id varchar(255) NOT NULL UNIQUE,
    name varchar(255) NOT NULL,
    description text,
    attribute varchar(255) NOT NULL,
    operator varchar(50) NOT NULL,
    value text NOT NULL,
    status varchar(50) NOT NULL,
    created_at timestamp,
    updated_at timestamp,
    created_by varchar(255),
    updated_by varchar(255),
    tags json,
    metadata json
);

CREATE TABLE patterns (
    id serial PRIMARY KEY,
    pattern_key varchar(50) NOT NULL,
    action_recommendation varchar(255) NOT NULL,
    description text,
    ruleset_id integer NOT NULL REFERENCES rulesets (id) ON DELETE CASCADE,
    created_at timestamp,
    updated_at timestamp
);
CREATE INDEX idx_patterns_ruleset ON patterns (ruleset_id);

CREATE TABLE actions (
    id serial PRIMARY KEY,
    action_id varchar(255) NOT NULL UNIQUE,
    name varchar(255) NOT NULL,
    description text,
    action_type varchar(50) NOT NULL,
    configuration json NOT NULL,
    status varchar(50) NOT NULL,
    created_at timestamp,
    updated_at timestamp,
    created_by varchar(255),
    updated_by varchar(255),
    tags json,
    metadata json,
    pattern_id integer REFERENCES patterns (id) ON DELETE CASCADE
);
CREATE INDEX idx_actions_pattern ON actions (pattern_id);

CREATE TABLE attributes (
    id serial PRIMARY KEY,
    attribute_id varchar(255) NOT NULL UNIQUE,
    name varchar(255) NOT NULL,
    description text,
    data_type varchar(50) NOT NULL,
    status varchar(50) NOT NULL,
    created_at timestamp,
    updated_at timestamp,
    created_by varchar(255),
    updated_by varchar(255),
    tags json,
    metadata json
);

CREATE TABLE execution_logs (
    id serial PRIMARY KEY,
    execution_id varchar(255) NOT NULL,
    input_data json NOT NULL,
    output_data json NOT NULL,
    ruleset_id integer,
    total_points double precision,
    pattern_result varchar(50),
    execution_time_ms double precision NOT NULL,
    success boolean NOT NULL,
    error_message text,
    "timestamp" timestamp,
    ab_test_id integer,
    ab_test_variant varchar(50),
    consumer_id varchar(255)
);
CREATE INDEX idx_execution_logs_timestamp ON execution_logs ("timestamp");
CREATE INDEX idx_execution_logs_execution_id ON execution_logs (execution_id);
CREATE INDEX idx_execution_logs_consumer_id ON execution_logs (consumer_id);
