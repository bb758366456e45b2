import { User } from '../../../domain/index.js';
import { CommerceUseCase } from './use-case.js';

export interface RegisterUserInput {
  commandId: string;
  userId: string;
  email: string;
  name: string;
}

export interface RegisterUserOutput {
  userId: string;
}

/**
 * Registers a user.
 * - the email is normalised and must be unique (`email_taken`);
 * - the name is 1..200 characters;
 * - records `user.registered` (which sends the welcome email).
 */
export class RegisterUser extends CommerceUseCase {
  execute(input: RegisterUserInput): Promise<RegisterUserOutput> {
    return this.uow.run({ commandId: input.commandId, commandType: 'RegisterUser' }, async ({ users }) => {
      users.add(User.register({ id: input.userId, email: input.email, name: input.name, now: this.clock.now() }));
      return { userId: input.userId };
    });
  }
}
