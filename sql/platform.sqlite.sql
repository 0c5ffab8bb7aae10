-- The MafitaPay platform tables as Django creates them on sqlite (names, types, nullability,
-- foreign keys), including columns the service never reads, so fixtures, `seed` and the demo
-- look like a real platform database. One statement per blank-line-separated block.

CREATE TABLE accounts_user (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT,
  password varchar(128) NOT NULL, last_login datetime NULL, is_superuser bool NOT NULL,
  first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, is_staff bool NOT NULL,
  is_active bool NOT NULL, date_joined datetime NOT NULL, email varchar(254) NOT NULL UNIQUE,
  is_merchant bool NOT NULL, is_email_verified bool NOT NULL, two_factor_enabled bool NOT NULL,
  referral_code varchar(10) NULL UNIQUE,
  referred_by_id bigint NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
  webauthn_sign_count integer unsigned NOT NULL, pin_attempts integer unsigned NOT NULL,
  biometric_enabled bool NOT NULL, deactivated_at datetime NULL);

CREATE TABLE wallet_wallet (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, balance decimal NOT NULL, locked_balance decimal NOT NULL,
  user_id bigint NOT NULL UNIQUE REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
  flutterwave_customer_id varchar(50) NULL, van_account_number varchar(20) NULL UNIQUE);

CREATE TABLE wallet_wallettransaction (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, tx_type varchar(10) NOT NULL, category varchar(20) NOT NULL,
  amount decimal NOT NULL, balance_before decimal NOT NULL, balance_after decimal NOT NULL,
  reference varchar(100) NULL, request_id varchar(100) NULL, status varchar(10) NOT NULL,
  metadata text NULL CHECK ((JSON_VALID("metadata") OR "metadata" IS NULL)), created_at datetime NOT NULL,
  user_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
  wallet_id bigint NOT NULL REFERENCES wallet_wallet (id) DEFERRABLE INITIALLY DEFERRED);

CREATE INDEX wallet_wallettransaction_reference_idx ON wallet_wallettransaction (reference);

CREATE TABLE p2p_deposit_p2p_offer (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, amount_available decimal NOT NULL, min_amount decimal NOT NULL,
  max_amount decimal NOT NULL, price_per_unit decimal NOT NULL, is_available bool NOT NULL, created_at datetime NOT NULL,
  merchant_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED);

CREATE TABLE p2p_depositorder (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, amount_requested decimal NOT NULL, total_price decimal NOT NULL,
  status varchar(10) NOT NULL, created_at datetime NOT NULL,
  buyer_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
  sell_offer_id bigint NOT NULL REFERENCES p2p_deposit_p2p_offer (id) DEFERRABLE INITIALLY DEFERRED);

CREATE TABLE p2p_withdraw_p2p_offer (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, amount_available decimal NOT NULL, min_amount decimal NOT NULL,
  max_amount decimal NOT NULL, price_per_unit decimal NOT NULL, is_active bool NOT NULL, created_at datetime NOT NULL,
  merchant_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED);

CREATE TABLE p2p_withdraworder (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, amount_requested decimal NOT NULL, total_price decimal NOT NULL,
  status varchar(10) NOT NULL, created_at datetime NOT NULL,
  buyer_offer_id bigint NOT NULL REFERENCES p2p_withdraw_p2p_offer (id) DEFERRABLE INITIALLY DEFERRED,
  seller_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED);

CREATE TABLE gasfee_crypto (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL, symbol varchar(10) NOT NULL UNIQUE,
  logo varchar(100) NOT NULL, coingecko_id varchar(50) NULL, network varchar(50) NOT NULL);

CREATE TABLE gasfee_cryptopurchase (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, input_amount decimal NOT NULL, input_currency varchar(10) NOT NULL,
  crypto_amount decimal NOT NULL, total_price decimal NOT NULL, wallet_address varchar(255) NOT NULL,
  status varchar(20) NOT NULL, request_id varchar(100) NOT NULL UNIQUE, tx_hash varchar(255) NULL,
  created_at datetime NOT NULL,
  crypto_id bigint NOT NULL REFERENCES gasfee_crypto (id) DEFERRABLE INITIALLY DEFERRED,
  user_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED);

CREATE TABLE rewards_bonustype (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, name varchar(50) NOT NULL UNIQUE, display_name varchar(120) NOT NULL,
  description text NOT NULL, is_active bool NOT NULL, default_amount decimal NOT NULL, default_expiry_days integer NULL,
  default_rules text NOT NULL, created_at datetime NOT NULL, updated_at datetime NOT NULL);

CREATE TABLE rewards_bonus (
  id integer NOT NULL PRIMARY KEY AUTOINCREMENT, amount decimal NOT NULL, status varchar(20) NOT NULL,
  description text NOT NULL, metadata text NOT NULL, created_at datetime NOT NULL, activated_at datetime NULL,
  expires_at datetime NULL, updated_at datetime NOT NULL,
  bonus_type_id bigint NOT NULL REFERENCES rewards_bonustype (id) DEFERRABLE INITIALLY DEFERRED,
  user_id bigint NOT NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED);

-- Django indexes every ForeignKey column (db_index=True by default).
CREATE INDEX accounts_user_referred_by_id_idx ON accounts_user (referred_by_id);
CREATE INDEX wallet_wallettransaction_user_id_idx ON wallet_wallettransaction (user_id);
CREATE INDEX wallet_wallettransaction_wallet_id_idx ON wallet_wallettransaction (wallet_id);
CREATE INDEX p2p_deposit_p2p_offer_merchant_id_idx ON p2p_deposit_p2p_offer (merchant_id);
CREATE INDEX p2p_depositorder_buyer_id_idx ON p2p_depositorder (buyer_id);
CREATE INDEX p2p_depositorder_sell_offer_id_idx ON p2p_depositorder (sell_offer_id);
CREATE INDEX p2p_withdraw_p2p_offer_merchant_id_idx ON p2p_withdraw_p2p_offer (merchant_id);
CREATE INDEX p2p_withdraworder_buyer_offer_id_idx ON p2p_withdraworder (buyer_offer_id);
CREATE INDEX p2p_withdraworder_seller_id_idx ON p2p_withdraworder (seller_id);
CREATE INDEX gasfee_cryptopurchase_crypto_id_idx ON gasfee_cryptopurchase (crypto_id);
CREATE INDEX gasfee_cryptopurchase_user_id_idx ON gasfee_cryptopurchase (user_id);
CREATE INDEX rewards_bonus_bonus_type_id_idx ON rewards_bonus (bonus_type_id);
CREATE INDEX rewards_bonus_user_id_idx ON rewards_bonus (user_id);
