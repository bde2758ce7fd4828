-- Company identity: sign-in through an organisation's OpenID provider,
-- enterprise-managed authorization (ID-JAG) and machine clients.

-- Identity providers added on the admin page (the one from SSO_* lives in the
-- configuration). `id` names the provider in URLs; JSON lists kept as TEXT.
CREATE TABLE identity_providers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  issuer TEXT NOT NULL,
  client_id TEXT NOT NULL,
  client_secret TEXT NOT NULL,
  allowed_domains TEXT NOT NULL,
  admin_groups TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);

-- Who a person is at an identity provider: the provider's issuer and its
-- stable subject. One account per (issuer, subject); a person may have several.
CREATE TABLE identity_links (
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  user_id TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_sign_in_at BIGINT NOT NULL,
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX identity_links_user_id ON identity_links (user_id);

-- ID-JAG assertions already redeemed, by issuer and jti, until they expire:
-- an assertion is good for one token, on every instance.
CREATE TABLE used_assertions (
  issuer TEXT NOT NULL,
  jti TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (issuer, jti)
);
CREATE INDEX used_assertions_expires_at ON used_assertions (expires_at);

-- Client-credentials tokens belong to no grant: revoking the client records
-- when, and tokens it was issued before then are refused.
CREATE TABLE client_revocations (
  client_id TEXT PRIMARY KEY,
  revoked_at BIGINT NOT NULL
);
