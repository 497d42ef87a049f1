-- Site A primary: the demo database, its tables, the capture agent's login and ctrelay's change
-- tracking setup. Run by the init-primary service of compose.yaml with sqlcmd:
--   sqlcmd -C -S sqlserver-a -U sa -P ... -b -v CTRELAY_AGENT_PASSWORD=... -i init-primary.sql
-- Idempotent: a second run changes nothing. NOT RUN HERE (no Docker engine where it was written).
-- The part from "ctrelay: enable change tracking" on is exactly what
--   ctrelay ct enable --url mssql://...@sqlserver-a/shop --agent-user ctrelay_agent dbo.customers dbo.orders
-- prints (src/sources/sqlserver/enable.ts).

IF DB_ID(N'shop') IS NULL
  CREATE DATABASE [shop];
GO

-- the capture agent's login; its database user and grants come from the enable script below
IF SUSER_ID(N'ctrelay_agent') IS NULL
  CREATE LOGIN [ctrelay_agent] WITH PASSWORD = N'$(CTRELAY_AGENT_PASSWORD)', CHECK_POLICY = ON;
GO

USE [shop];
GO

IF OBJECT_ID(N'dbo.customers', N'U') IS NULL
  CREATE TABLE dbo.customers (
    id int NOT NULL PRIMARY KEY,
    name nvarchar(200) NOT NULL,
    email nvarchar(320) NULL,
    created_at datetime2(7) NOT NULL DEFAULT SYSUTCDATETIME()
  );
IF OBJECT_ID(N'dbo.orders', N'U') IS NULL
  CREATE TABLE dbo.orders (
    id bigint NOT NULL PRIMARY KEY,
    customer_id int NOT NULL REFERENCES dbo.customers (id),
    amount decimal(19,4) NOT NULL,
    status varchar(20) NOT NULL,
    placed_at datetimeoffset(7) NOT NULL DEFAULT SYSDATETIMEOFFSET()
  );
GO

IF NOT EXISTS (SELECT 1 FROM dbo.customers)
BEGIN
  INSERT INTO dbo.customers (id, name, email) VALUES
    (1, N'Ada Lovelace', N'ada@example.org'),
    (2, N'Grace Hopper', N'grace@example.org'),
    (3, N'Zoë Ünïcødé 名前', NULL);
  INSERT INTO dbo.orders (id, customer_id, amount, status) VALUES
    (1, 1, 12.5000, 'new'),
    (2, 2, 99999999999.9999, 'paid'),
    (3, 3, 0.0001, 'new');
END
GO

-- ctrelay: enable change tracking in database shop (idempotent; run as a member of db_owner)
USE [shop];
-- an already enabled database gets the requested retention and cleanup settings
IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_databases WHERE database_id = DB_ID())
  ALTER DATABASE [shop] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON);
ELSE
  ALTER DATABASE [shop] SET CHANGE_TRACKING (CHANGE_RETENTION = 7 DAYS, AUTO_CLEANUP = ON);
-- each poll is one snapshot-isolation transaction
IF (SELECT snapshot_isolation_state FROM sys.databases WHERE database_id = DB_ID()) <> 1
  ALTER DATABASE [shop] SET ALLOW_SNAPSHOT_ISOLATION ON;
GO

IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[customers]'))
  ALTER TABLE [dbo].[customers] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
ELSE IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[customers]') AND is_track_columns_updated_on <> 1)
  PRINT N'dbo.customers is already tracked with TRACK_COLUMNS_UPDATED = OFF; left unchanged';
GO

IF NOT EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]'))
  ALTER TABLE [dbo].[orders] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
ELSE IF EXISTS (SELECT 1 FROM sys.change_tracking_tables WHERE object_id = OBJECT_ID(N'[dbo].[orders]') AND is_track_columns_updated_on <> 1)
  PRINT N'dbo.orders is already tracked with TRACK_COLUMNS_UPDATED = OFF; left unchanged';
GO

IF USER_ID(N'ctrelay_agent') IS NULL
  CREATE USER [ctrelay_agent] FOR LOGIN [ctrelay_agent];
GRANT VIEW DATABASE STATE TO [ctrelay_agent];
GRANT SELECT ON [dbo].[customers] TO [ctrelay_agent];
GRANT VIEW CHANGE TRACKING ON [dbo].[customers] TO [ctrelay_agent];
GRANT SELECT ON [dbo].[orders] TO [ctrelay_agent];
GRANT VIEW CHANGE TRACKING ON [dbo].[orders] TO [ctrelay_agent];
GO
