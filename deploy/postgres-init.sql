-- One database per service: services never share tables.
CREATE DATABASE identity;
CREATE DATABASE migrations;
CREATE DATABASE sync;
