import type { Clock } from '../../clock.js';
import type { UnitOfWork } from '../ports/unit-of-work.js';

/** What every commerce use case is built with: the unit of work it runs in and the clock it stamps events with. */
export abstract class CommerceUseCase {
  constructor(
    protected readonly uow: UnitOfWork,
    protected readonly clock: Clock,
  ) {}
}
