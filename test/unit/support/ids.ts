import { v7 } from 'uuid';

/** A fresh aggregate or command id in the shape the domain accepts (lower-case UUIDv7). */
export function newId(): string {
  return v7();
}

export const UUID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
