-- Site B hot standby: an empty database and the applier's login. The applier creates the tables
-- (from the Avro row schemas) and its ctrelay_state table itself, so it needs DDL rights in the
-- database: db_owner here. Run by the init-standby service of compose.yaml with sqlcmd
-- (-v CTRELAY_APPLY_PASSWORD=...). Idempotent. NOT RUN HERE (no Docker engine where it was written).

IF DB_ID(N'shop') IS NULL
  CREATE DATABASE [shop];
GO

IF SUSER_ID(N'ctrelay_apply') IS NULL
  CREATE LOGIN [ctrelay_apply] WITH PASSWORD = N'$(CTRELAY_APPLY_PASSWORD)', CHECK_POLICY = ON;
GO

USE [shop];
GO

IF USER_ID(N'ctrelay_apply') IS NULL
  CREATE USER [ctrelay_apply] FOR LOGIN [ctrelay_apply];
ALTER ROLE db_owner ADD MEMBER [ctrelay_apply];
GO
