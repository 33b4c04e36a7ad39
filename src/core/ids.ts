// Shapes of internal ids shared by every layer.

/** A tenant id: lower-case letters, digits and dashes, 1–40 characters. */
export const TENANT_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
