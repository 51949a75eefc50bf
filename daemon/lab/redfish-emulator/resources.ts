// Redfish resource bodies, shaped after the DMTF schemas (ServiceRoot v1, ComputerSystem v1,
// SessionService v1, Message v1) and what sushy-tools serves: only the properties a provisioning
// client reads, with the annotations (@odata.*, @Redfish.AllowableValues) real BMCs send.

export const BASE_REGISTRY = 'Base.1.8';

export interface SystemState {
  id: string;
  name: string;
  mac?: string;
  powerState: 'On' | 'Off';
  boot: { enabled: 'Disabled' | 'Once' | 'Continuous'; target: string; mode: 'UEFI' | 'Legacy' };
  resetTypes: string[];
  bootTargets: string[];
  bootModes: string[];
  /** Bumped by every change; the ETag is derived from it. */
  version: number;
}

export function etagOf(s: SystemState): string { return `W/"${s.id}-${s.version}"`; }

export function serviceRoot(uuid: string): object {
  return {
    '@odata.type': '#ServiceRoot.v1_5_0.ServiceRoot',
    '@odata.id': '/redfish/v1/',
    Id: 'RootService',
    Name: 'Rackhand lab Redfish service',
    RedfishVersion: '1.8.0',
    UUID: uuid,
    Systems: { '@odata.id': '/redfish/v1/Systems' },
    SessionService: { '@odata.id': '/redfish/v1/SessionService' },
    Links: { Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' } },
  };
}

export function collection(type: string, id: string, name: string, members: string[]): object {
  return {
    '@odata.type': `#${type}.${type}`,
    '@odata.id': id,
    Name: name,
    'Members@odata.count': members.length,
    Members: members.map((m) => ({ '@odata.id': m })),
  };
}

export function computerSystem(s: SystemState): object {
  const self = `/redfish/v1/Systems/${s.id}`;
  return {
    '@odata.type': '#ComputerSystem.v1_10_0.ComputerSystem',
    '@odata.id': self,
    '@odata.etag': etagOf(s),
    Id: s.id,
    Name: s.name,
    SystemType: 'Virtual',
    Manufacturer: 'QEMU',
    Model: 'Rackhand lab VM',
    PowerState: s.powerState,
    Status: { State: 'Enabled', Health: 'OK' },
    Boot: {
      BootSourceOverrideEnabled: s.boot.enabled,
      'BootSourceOverrideEnabled@Redfish.AllowableValues': ['Disabled', 'Once', 'Continuous'],
      BootSourceOverrideTarget: s.boot.target,
      'BootSourceOverrideTarget@Redfish.AllowableValues': s.bootTargets,
      BootSourceOverrideMode: s.boot.mode,
      'BootSourceOverrideMode@Redfish.AllowableValues': s.bootModes,
    },
    Actions: {
      '#ComputerSystem.Reset': {
        target: `${self}/Actions/ComputerSystem.Reset`,
        'ResetType@Redfish.AllowableValues': s.resetTypes,
      },
    },
  };
}

export function sessionService(): object {
  return {
    '@odata.type': '#SessionService.v1_1_6.SessionService',
    '@odata.id': '/redfish/v1/SessionService',
    Id: 'SessionService',
    Name: 'Session Service',
    ServiceEnabled: true,
    SessionTimeout: 600,
    Sessions: { '@odata.id': '/redfish/v1/SessionService/Sessions' },
  };
}

export function session(id: string, user: string): object {
  return {
    '@odata.type': '#Session.v1_1_0.Session',
    '@odata.id': `/redfish/v1/SessionService/Sessions/${id}`,
    Id: id, Name: `Session ${id}`, UserName: user,
  };
}

/** The Redfish error body (DSP0266 §9.7): one general code and the messages that explain it. */
export function redfishError(messageId: string, message: string, opts: { args?: string[]; resolution?: string; severity?: string } = {}): object {
  return {
    error: {
      code: `${BASE_REGISTRY}.GeneralError`,
      message: 'A general error has occurred. See ExtendedInfo for more information.',
      '@Message.ExtendedInfo': [{
        '@odata.type': '#Message.v1_1_1.Message',
        MessageId: `${BASE_REGISTRY}.${messageId}`,
        Message: message,
        MessageArgs: opts.args ?? [],
        MessageSeverity: opts.severity ?? 'Warning',
        Severity: opts.severity ?? 'Warning',
        Resolution: opts.resolution ?? 'None.',
      }],
    },
  };
}
