; Inno Setup 6 script: a per-user installer for the one-folder build of
; segue-windows.spec. UNTESTED (no Windows build machine). From the repository root:
;   iscc packaging\windows\segue.iss   ->  dist\SegueSetup-0.1.0.exe
; It registers "Open with Segue" for common audio types (per user, no admin rights).

#define AppVersion "0.1.0"

[Setup]
AppId={{7C7D2F4E-9B7A-4C65-8E0B-5E6A1D2C9F31}
AppName=Segue
AppVersion={#AppVersion}
AppPublisher=The Segue developers
DefaultDirName={localappdata}\Programs\Segue
DefaultGroupName=Segue
PrivilegesRequired=lowest
OutputDir=..\..\dist
OutputBaseFilename=SegueSetup-{#AppVersion}
SetupIconFile=segue.ico
UninstallDisplayIcon={app}\segue.exe
Compression=lzma2
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes

[Files]
Source: "..\..\dist\segue\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\Segue"; Filename: "{app}\segue.exe"
Name: "{userdesktop}\Segue"; Filename: "{app}\segue.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop icon"; Flags: unchecked

[Registry]
; The ProgID and "Open with" entries (HKCU: no admin rights needed).
Root: HKCU; Subkey: "Software\Classes\Segue.AudioFile"; ValueType: string; ValueData: "Audio file (Segue)"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\Segue.AudioFile\DefaultIcon"; ValueType: string; ValueData: "{app}\segue.exe,0"
Root: HKCU; Subkey: "Software\Classes\Segue.AudioFile\shell\open\command"; ValueType: string; ValueData: """{app}\segue.exe"" ""%1"""
Root: HKCU; Subkey: "Software\Classes\.mp3\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.flac\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.ogg\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.opus\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.m4a\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.wav\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\.wma\OpenWithProgids"; ValueType: string; ValueName: "Segue.AudioFile"; ValueData: ""; Flags: uninsdeletevalue

[Run]
Filename: "{app}\segue.exe"; Description: "Start Segue"; Flags: nowait postinstall skipifsilent
