"""Certificates anyone can verify offline: Open Badges 3.0 credentials secured as VC-JOSE JWS.

- ``document``: a certification as an ``OpenBadgeCredential`` (W3C VC 2.0 data model).
- ``keys``: the Ed25519 signing keys, kept as JWK files outside the database.
- ``jws``: signing (compact JWS, ``typ: vc+jwt``) and the offline verifier.
- ``jsonld``: the shipped JSON-LD contexts, a loader that never fetches, and the term check.
- ``bitstring``: the W3C Bitstring Status List bitstring (bit order, GZIP + base64url encoding).
- ``status_list``: revocation status lists: an index per certification at issuance, the bit set
  at revocation, the signed ``BitstringStatusListCredential`` and the online verifier's lookup.

Nothing here reads client data: a credential says who was certified in what, by whom.
"""
