; Inno Setup 6 script: a per-user installer for the folder bundle dist\QwQDesktop\.
; Built by packaging\build.ps1 (ISCC.exe /DAppVersion=X.Y.Z packaging\windows\qwq-desktop.iss).
; Per-user (no administrator rights), Start menu entry, optional desktop icon, .gguf association,
; uninstaller that keeps the user's conversations and models (they live in %LOCALAPPDATA%).
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6C0D6E0B-9B7A-4E43-9C55-2F0C1F5C7A31}
AppName=QwQ Desktop
AppVersion={#AppVersion}
AppPublisher=QwQ Desktop
DefaultDirName={localappdata}\Programs\QwQ Desktop
DefaultGroupName=QwQ Desktop
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=QwQDesktop-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\qwq-desktop.exe
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "Create a &desktop icon"; Flags: unchecked

[Files]
Source: "..\..\dist\QwQDesktop\*"; DestDir: "{app}"; Flags: recursesubdirs createallsubdirs ignoreversion

[Icons]
Name: "{group}\QwQ Desktop"; Filename: "{app}\qwq-desktop.exe"
Name: "{userdesktop}\QwQ Desktop"; Filename: "{app}\qwq-desktop.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Software\Classes\.gguf\OpenWithProgids"; ValueType: string; ValueName: "QwQDesktop.gguf"; ValueData: ""; Flags: uninsdeletevalue
Root: HKCU; Subkey: "Software\Classes\QwQDesktop.gguf"; ValueType: string; ValueData: "GGUF model"; Flags: uninsdeletekey
Root: HKCU; Subkey: "Software\Classes\QwQDesktop.gguf\shell\open\command"; ValueType: string; ValueData: """{app}\qwq-desktop.exe"" ""%1"""

[Run]
Filename: "{app}\qwq-desktop.exe"; Description: "Start QwQ Desktop"; Flags: nowait postinstall skipifsilent
