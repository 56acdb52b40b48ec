/**
 * A kafkajs partition assigner that keeps partition 0 (the "active" token) where it is: each
 * member says in its join metadata whether it is active now, and the group leader gives the
 * partition to that member, or, when none is (the active one died), to the longest-waiting
 * standby — the first by member id. A standby joining therefore never demotes a healthy active
 * evaluator, which a round-robin assignment would do half of the time.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

const ACTIVE = Buffer.from([1]);
const STANDBY = Buffer.from([0]);

export function stickyActiveAssigner(isActive: () => boolean): PartitionAssigner {
  return () => ({
    name: 'PharosStickyActive',
    version: 0,
    async assign({ members, topics }) {
      const ids = members.map((m) => m.memberId).sort();
      const active = members.find((m) => {
        const meta = AssignerProtocol.MemberMetadata.decode(m.memberMetadata);
        return meta?.userData?.[0] === 1;
      });
      const owner = active?.memberId ?? ids[0];
      return ids.map((memberId) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: memberId === owner ? Object.fromEntries(topics.map((t) => [t, [0]])) : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name: 'PharosStickyActive',
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: isActive() ? ACTIVE : STANDBY }),
      };
    },
  });
}
