import { AggregateRoot, type AggregateType } from './events.js';
import { Email } from './email.js';
import { InvalidValueError } from './errors.js';
import { assertId } from './id.js';

export const MAX_NAME_LENGTH = 200;

export function assertName(raw: string, what = 'name'): string {
  const name = raw.trim();
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new InvalidValueError(`${what} must have 1 to ${MAX_NAME_LENGTH} characters`);
  }
  return name;
}

export class User extends AggregateRoot {
  readonly id: string;
  readonly email: string;
  readonly name: string;
  readonly createdAt: Date;

  private constructor(props: { id: string; email: string; name: string; createdAt: Date }) {
    super();
    this.id = props.id;
    this.email = props.email;
    this.name = props.name;
    this.createdAt = props.createdAt;
  }

  /** Registers a new user; email uniqueness is enforced by the repository at commit. */
  static register(input: { id: string; email: string; name: string; now: Date }): User {
    const user = new User({
      id: assertId(input.id, 'userId'),
      email: Email.parse(input.email).value,
      name: assertName(input.name),
      createdAt: input.now,
    });
    user.record({
      type: 'user.registered',
      occurredAt: input.now,
      payload: { userId: user.id, email: user.email, name: user.name },
    });
    return user;
  }

  protected get aggregateType(): AggregateType {
    return 'user';
  }
}
