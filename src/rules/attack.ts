// MITRE ATT&CK (Enterprise, Containers) techniques that rules and breakout reasons name. Carried in
// alert log events and the generated tables, never as metric labels (they add nothing to select on).
export interface AttackTechnique {
  id: string;
  name: string;
}

export const ATTACK = {
  escapeToHost: { id: 'T1611', name: 'Escape to Host' },
  privilegeEscalation: { id: 'T1068', name: 'Exploitation for Privilege Escalation' },
  containerAdministration: { id: 'T1609', name: 'Container Administration Command' },
  deployContainer: { id: 'T1610', name: 'Deploy Container' },
  elevationControl: { id: 'T1548', name: 'Abuse Elevation Control Mechanism' },
  endpointDenialOfService: { id: 'T1499', name: 'Endpoint Denial of Service' },
  networkSniffing: { id: 'T1040', name: 'Network Sniffing' },
  ptraceInjection: { id: 'T1055.008', name: 'Process Injection: Ptrace System Calls' },
  kernelModules: { id: 'T1547.006', name: 'Boot or Logon Autostart Execution: Kernel Modules and Extensions' },
} as const satisfies Record<string, AttackTechnique>;
